package io.sectorcrypt.bench;

import java.io.PrintWriter;
import java.io.StringWriter;

/** One bench invocation in-process, with its exit code and output. */
record BenchRun(int exitCode, String out, String err) {
    static BenchRun of(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = BenchMain.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new BenchRun(code, out.toString(), err.toString().strip());
    }
}

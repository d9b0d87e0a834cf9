package io.sectorcrypt.bench;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/** Whether standard error is a terminal (isatty(2) from libc): decides if a progress bar is drawn. */
final class Terminal {
    private static final int STDERR = 2;

    private Terminal() {
    }

    static boolean isStderrTerminal() {
        try {
            Linker linker = Linker.nativeLinker();
            MethodHandle isatty = linker.downcallHandle(linker.defaultLookup().find("isatty").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            return (int) isatty.invokeExact(STDERR) == 1;
        } catch (Throwable notAvailable) {
            // No libc isatty (another OS) or native access denied: draw no bar rather than fail.
            return false;
        }
    }
}

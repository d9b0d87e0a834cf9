package io.sectorcrypt.hctr2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The HCTR2 engine is chosen once per JVM, so each case runs in a child JVM: the default
 * (the widest tier that runs), every engine forced by name, an engine the CPU lacks or the
 * mask hides, an unknown name.
 */
class Hctr2SelectionProcessTest {

    private static String run(String... jvmArgs) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        String mask = System.getProperty("sectorcrypt.cpu.mask");
        if (mask != null) {
            cmd.add("-Dsectorcrypt.cpu.mask=" + mask); // children select as this JVM does
        }
        cmd.addAll(List.of(jvmArgs)); // a later -D of the same name wins
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), PrintHctr2Engine.class.getName()));
        Process p = new ProcessBuilder(cmd).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child JVM timed out");
        String stderr = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (!stdout.startsWith("error:")) {
            assertFalse(stderr.contains("WARNING"), stderr); // a normal start is silent
        }
        return stdout;
    }

    @Test
    void defaultIsTheBestEngine() throws Exception {
        assertEquals(Hctr2Engine.best().id() + " ok\nend", run());
        Hctr2Engine widest = Hctr2Engine.JAVA;
        for (Hctr2Engine e : Hctr2Engine.values()) {
            if (e.isAvailable()) {
                widest = e;
            }
        }
        assertEquals(widest, Hctr2Engine.best());
    }

    @Test
    void everyEngineCanBeForcedOrSaysWhyNot() throws Exception {
        for (Hctr2Engine e : Hctr2Engine.values()) {
            String shortName = e.id().replace("native-", "");
            for (String name : new String[] {e.id(), shortName.toUpperCase(Locale.ROOT)}) {
                String out = run("-Dsectorcrypt.hctr2.engine=" + name);
                if (e.isAvailable()) {
                    assertEquals(e.id() + " ok\nend", out, name);
                } else {
                    assertEquals("error: -Dsectorcrypt.hctr2.engine=" + name + " asks for " + e.id()
                            + ", which cannot run here: " + e.unavailableReason() + "\nend", out, name);
                }
            }
        }
    }

    @Test
    void nativeMeansTheBestNativeTier() throws Exception {
        assumeTrue(Hctr2Engine.best().isNative());
        assertEquals(Hctr2Engine.best().id() + " ok\nend", run("-Dsectorcrypt.hctr2.engine=native"));
    }

    @Test
    void maskedVaesFallsBackToAesNiAndRefusesTheWideTiers() throws Exception {
        assumeTrue(Hctr2Engine.NATIVE_AESNI.isAvailable());
        assertEquals("native-aesni ok\nend", run("-Dsectorcrypt.cpu.mask=vaes"));
        String out = run("-Dsectorcrypt.cpu.mask=vaes", "-Dsectorcrypt.hctr2.engine=vaes512");
        assertTrue(out.startsWith("error: -Dsectorcrypt.hctr2.engine=vaes512 asks for native-vaes512, which cannot"
                + " run here: "), out);
        assertTrue(out.contains("VAES"), out);
    }

    @Test
    void unknownEngineIsRefusedWithTheChoices() throws Exception {
        assertEquals("error: -Dsectorcrypt.hctr2.engine=turbo: unknown HCTR2 engine 'turbo'; choose one of java,"
                + " native, aesni, vaes256, vaes512\nend", run("-Dsectorcrypt.hctr2.engine=turbo"));
    }
}

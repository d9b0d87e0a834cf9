package io.sectorcrypt.hctr2;

import java.util.Arrays;
import java.util.stream.Stream;

/** The HCTR2 engines the engine-parameterised tests run on: every one that can run here. */
final class Hctr2Engines {
    private Hctr2Engines() {
    }

    static Stream<Hctr2Engine> available() {
        return Arrays.stream(Hctr2Engine.values()).filter(Hctr2Engine::isAvailable);
    }

    /** The native engines that run here, each differentially tested against the Java engine. */
    static Stream<Hctr2Engine> availableNative() {
        return available().filter(Hctr2Engine::isNative);
    }
}

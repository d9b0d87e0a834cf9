package io.sectorcrypt.xts;

import java.util.Arrays;
import java.util.List;

/** The engines tests run on: every engine that can run on this machine. */
final class Engines {
    private Engines() {
    }

    static List<Engine> available() {
        return Arrays.stream(Engine.values()).filter(Engine::isAvailable).toList();
    }

    static List<Engine> availableNative() {
        return available().stream().filter(Engine::isNative).toList();
    }
}

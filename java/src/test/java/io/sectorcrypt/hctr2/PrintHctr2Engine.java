package io.sectorcrypt.hctr2;

import io.sectorcrypt.xts.IvConvention;
import java.util.Arrays;

/**
 * Child-JVM probe for {@link Hctr2SelectionProcessTest}: the selected HCTR2 engine and a
 * published 4 KiB-class vector through it, or the error that selecting it raised.
 */
public final class PrintHctr2Engine {
    private PrintHctr2Engine() {
    }

    public static void main(String[] args) {
        Hctr2Vectors.Vector v = Hctr2Vectors.hctr2("HCTR2_AES256.json").stream()
                .filter(x -> x.in().length > 255).findFirst().orElseThrow();
        try (Hctr2Key key = Hctr2Key.of(v.key())) {
            Hctr2 hctr2 = Hctr2.of(key, Hctr2Engine.selected(), IvConvention.PLAIN64);
            byte[] out = new byte[v.in().length];
            hctr2.encrypt(v.tweak(), v.in(), 0, out, 0, out.length);
            System.out.println(hctr2.engine().id() + " " + (Arrays.equals(out, v.out()) ? "ok" : "WRONG"));
        } catch (IllegalStateException e) {
            System.out.println("error: " + e.getMessage());
        }
        System.out.println("end"); // the JVM got to the end of main
    }
}

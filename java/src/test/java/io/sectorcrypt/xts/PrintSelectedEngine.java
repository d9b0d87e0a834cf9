package io.sectorcrypt.xts;


/** Child-JVM probe for {@link EngineSelectionProcessTest}: the selected engine, and one vector through it. */
public final class PrintSelectedEngine {
    private PrintSelectedEngine() {
    }

    public static void main(String[] args) {
        Vectors.Vector v = Vectors.lineFormat("openssl-plain64/plain64-4096.txt").get(3);
        try (XtsKey key = XtsKey.of(v.key())) {
            // The vectors number each 4096-byte unit in units of its own size.
            SectorCipher xts = args.length == 0 ? SectorCipher.of(key, IvConvention.IV_LARGE_SECTORS)
                    : SectorCipher.of(key, Engine.parse(args[0]), IvConvention.IV_LARGE_SECTORS);
            byte[] out = new byte[v.plain().length];
            xts.encrypt(v.plain(), 0, out, 0, out.length, Vectors.unitNumber(v.tweak()), out.length);
            System.out.println(xts.engine().id() + " " + (java.util.Arrays.equals(out, v.cipher()) ? "ok" : "WRONG"));
        } catch (IllegalStateException e) {
            System.out.println("error: " + e.getMessage());
        }
        System.out.println("end"); // the JVM got to the end of main
    }
}

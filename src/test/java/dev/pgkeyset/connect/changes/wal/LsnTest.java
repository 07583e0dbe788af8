package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LsnTest {

    @Test
    void parsesAndPrintsPostgresTextForm() {
        // pg_lsn arithmetic: '16/B374D848'::pg_lsn - '0/0' = 97500059720
        assertEquals(97_500_059_720L, Lsn.parse("16/B374D848"));
        assertEquals("16/B374D848", Lsn.format(97_500_059_720L));
        assertEquals("0/0", Lsn.format(0));
        assertEquals(0, Lsn.parse(null));
        assertEquals("FFFFFFFF/FFFFFFFF", Lsn.format(Lsn.parse("FFFFFFFF/FFFFFFFF")));
        assertEquals(-1L, Lsn.parse("FFFFFFFF/FFFFFFFF"));
    }

    /** Against pgjdbc's own formatting and parsing (String.format-based), on random positions. */
    @Test
    void agreesWithPgjdbcOnRandomPositions() {
        long seed = System.nanoTime();
        java.util.Random random = new java.util.Random(seed);
        for (int i = 0; i < 10_000; i++) {
            // Every magnitude of each half: the unpadded text form varies in length.
            long lsn = (random.nextLong() >>> random.nextInt(64)) ^ ((long) random.nextInt() << random.nextInt(32));
            String expected = org.postgresql.replication.LogSequenceNumber.valueOf(lsn).asString();
            assertEquals(expected, Lsn.format(lsn), "seed " + seed + ", lsn " + lsn);
            assertEquals(lsn, Lsn.parse(expected), "seed " + seed);
            assertEquals(lsn, Lsn.parse(expected.toLowerCase(java.util.Locale.ROOT)), "seed " + seed);
        }
    }

    @Test
    void comparesUnsigned() {
        long top = Lsn.parse("FFFFFFFF/0");
        long low = Lsn.parse("1/0");
        assertTrue(Lsn.compare(top, low) > 0);
        assertEquals(top, Lsn.max(low, top));
        assertEquals(Lsn.parse("0/100") - Lsn.parse("0/10"), Lsn.minus(Lsn.parse("0/100"), Lsn.parse("0/10")));
    }

    @Test
    void refusesWhatIsNotAPosition() {
        for (String bad : new String[] {"16", "/1", "1/", "G/1", "123456789/1", "1/2/3", "+1/0", "-1/0", "1/-0",
                " 1/0", "1/0 ", "\uFF11/0", "1/\u0661"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Lsn.parse(bad), bad);
            assertTrue(e.getMessage().contains("'" + bad + "' is not a WAL position"), e.getMessage());
        }
    }
}

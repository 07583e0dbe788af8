package dev.pgkeyset.connect.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Snapshot visibility as PostgreSQL defines it (xmin, xmax, in progress), for pgoutput's 32-bit xids. */
class PgSnapshotTest {

    @Test
    void seesWhatEndedBeforeItAndNothingRunningOrLater() {
        PgSnapshot snapshot = PgSnapshot.parse("100:110:103,107");
        assertTrue(snapshot.visible(99), "below xmin");
        assertTrue(snapshot.visible(100), "xmin itself is not running here (not in the list)");
        assertFalse(snapshot.visible(103), "in progress");
        assertTrue(snapshot.visible(104));
        assertFalse(snapshot.visible(107), "in progress");
        assertTrue(snapshot.visible(109));
        assertFalse(snapshot.visible(110), "xmax and after: not yet ended when it was taken");
        assertFalse(snapshot.visible(5_000));
        assertEquals("100:110:103,107", snapshot.toString());
    }

    @Test
    void anEmptyListAndXminEqualToXmax() {
        PgSnapshot snapshot = PgSnapshot.parse("729:729:");
        assertTrue(snapshot.visible(728));
        assertFalse(snapshot.visible(729));
    }

    /** Ids of epoch 3 near the 2^32 wrap: pgoutput sends the low 32 bits only. */
    @Test
    void aThirtyTwoBitXidIsWidenedAcrossAnEpochBoundary() {
        long epoch3 = 3L << 32;
        PgSnapshot snapshot = PgSnapshot.parse((epoch3 + 5) + ":" + (epoch3 + 20) + ":" + (epoch3 + 8));
        long lastOfEpoch2 = 0xFFFF_FFF0L;
        assertEquals((2L << 32) | lastOfEpoch2, snapshot.widen(lastOfEpoch2));
        assertTrue(snapshot.visible(lastOfEpoch2), "an id of the previous epoch just before the wrap");
        assertFalse(snapshot.visible(8), "running, in the current epoch");
        assertTrue(snapshot.visible(9));
        assertFalse(snapshot.visible(25), "after xmax");

        PgSnapshot beforeWrap = PgSnapshot.parse(((2L << 32) + 0xFFFF_FF00L) + ":" + ((2L << 32) + 0xFFFF_FFF0L) + ":");
        assertEquals(epoch3 + 3, beforeWrap.widen(3), "an id just past the wrap belongs to the next epoch");
        assertFalse(beforeWrap.visible(3));
    }

    @Test
    void refusesWhatIsNotASnapshot() {
        assertThrows(IllegalArgumentException.class, () -> PgSnapshot.parse("1:2"));
        assertThrows(NumberFormatException.class, () -> PgSnapshot.parse("a:b:"));
    }

    @Test
    void xidsSeenEmptyOnlyWhenTheSnapshotSeesThemAll() {
        XidsSeen seen = new XidsSeen();
        seen.add(101);
        seen.add(103);
        PgSnapshot running = PgSnapshot.parse("100:110:103");
        assertFalse(seen.allSeenBy(running));
        assertEquals(103, seen.firstUnseenBy(running));
        assertEquals(2, seen.size(), "kept for the next snapshot");
        assertTrue(seen.allSeenBy(PgSnapshot.parse("104:110:")));
        assertEquals(0, seen.size());
        for (int i = 0; i < 10_000; i++) {
            seen.add(200 + i);
        }
        assertTrue(seen.allSeenBy(PgSnapshot.parse("20000:20000:")));
        assertEquals(-1, seen.firstUnseenBy(PgSnapshot.parse("1:1:")));
    }

    @Test
    void xidsSeenForgetOnlyWhatASnapshotSees() {
        XidsSeen seen = new XidsSeen();
        for (int i = 0; i < 5000; i++) {
            seen.add(1000 + i);
        }
        // 5,999 still running when taken: every other one (1,000 to 5,998) had ended, and is seen.
        seen.forgetSeenBy(PgSnapshot.parse("5500:6000:5999"));
        assertEquals(1, seen.size(), "only the running 5,999 is kept");
        assertEquals(5999, seen.firstUnseenBy(PgSnapshot.parse("5990:6000:5999")));
        seen.add(6500);
        seen.forgetSeenBy(PgSnapshot.parse("6000:6000:"));
        assertEquals(1, seen.size(), "6,500 had not started in that snapshot");
        seen.forgetSeenBy(PgSnapshot.parse("7000:7000:"));
        assertEquals(0, seen.size());
    }
}

package dev.pgkeyset.connect.offset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.errors.ConnectException;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.PgKeysetSourceConnector;

class WalOffsetTest {

    @Test
    void lsnTextIsPostgresqlsOwnForm() {
        // Expected forms as pg_lsn prints them: SELECT '16/B374D848'::pg_lsn, '0/0', 'FFFFFFFF/FFFFFFFF'
        assertEquals("16/B374D848", WalOffset.formatLsn(0x16B374D848L));
        assertEquals("0/0", WalOffset.formatLsn(0));
        assertEquals("FFFFFFFF/FFFFFFFF", WalOffset.formatLsn(-1L));
        assertEquals(0x16B374D848L, WalOffset.parseLsn("16/b374d848"));
        assertEquals(-1L, WalOffset.parseLsn("FFFFFFFF/FFFFFFFF"));
    }

    @Test
    void roundTripsThroughTheOffsetMap() {
        WalOffset offset = new WalOffset(0x1_0000_0000L + 42, 7);
        Map<String, Object> map = offset.toMap();
        assertEquals(Map.of("commit_lsn", "1/2A", "event", 7L), new HashMap<>(map));
        assertEquals(offset, WalOffset.fromMap(map));
        // JSON brings small numbers back as Integer
        assertEquals(offset, WalOffset.fromMap(Map.of("commit_lsn", "1/2A", "event", 7)));
    }

    @Test
    void ordersByCommitLsnThenEventUnsigned() {
        WalOffset committed = new WalOffset(0x20, 3);
        assertTrue(new WalOffset(0x20, 3).coveredBy(committed));
        assertTrue(new WalOffset(0x20, 2).coveredBy(committed));
        assertTrue(new WalOffset(0x1F, 99).coveredBy(committed));
        assertFalse(new WalOffset(0x20, 4).coveredBy(committed));
        assertFalse(new WalOffset(0x21, 0).coveredBy(committed));
        assertFalse(new WalOffset(0x21, 0).coveredBy(null));
        // LSNs above 2^63 stay above the smaller ones
        assertFalse(new WalOffset(-1L, 0).coveredBy(new WalOffset(0x7FFF_FFFF_FFFF_FFFFL, 0)));
    }

    @Test
    void aTombstoneAfterADeleteEventComesNextAndRoundTrips() {
        WalOffset delete = new WalOffset(0x20, 4);
        WalOffset tombstone = delete.next();
        // record.format=row never writes "sub": its offsets stay as they were.
        assertEquals(Map.of("commit_lsn", "0/20", "event", 4L), new HashMap<>(delete.toMap()));
        assertEquals(Map.of("commit_lsn", "0/20", "event", 4L, "sub", 1L), new HashMap<>(tombstone.toMap()));
        assertEquals(tombstone, WalOffset.fromMap(tombstone.toMap()));
        assertEquals(tombstone, WalOffset.fromMap(Map.of("commit_lsn", "0/20", "event", 4, "sub", 1)));
        // After the delete event, before the next change; a committed delete event does not cover its tombstone.
        assertFalse(tombstone.coveredBy(delete));
        assertTrue(delete.coveredBy(tombstone));
        assertTrue(tombstone.coveredBy(new WalOffset(0x20, 5)));
        assertThrows(IllegalArgumentException.class,
                () -> WalOffset.fromMap(Map.of("commit_lsn", "0/20", "event", 4L, "sub", "1")));
        assertThrows(IllegalArgumentException.class,
                () -> WalOffset.fromMap(Map.of("commit_lsn", "0/20", "event", 4L, "sub", -1L)));
    }

    @Test
    void aTransactionsBeginComesBeforeItsChangesAndItsEndAfterThem() {
        WalOffset begin = WalOffset.beginOf(0x20);
        assertEquals(Map.of("commit_lsn", "0/20", "event", -1L), new HashMap<>(begin.toMap()));
        assertEquals(begin, WalOffset.fromMap(Map.of("commit_lsn", "0/20", "event", -1)));
        // After the previous transaction's last record, before this one's first change.
        assertTrue(new WalOffset(0x1F, 99).compareTo(begin) < 0);
        assertTrue(begin.compareTo(new WalOffset(0x20, 0)) < 0);
        // A committed BEGIN covers none of the changes.
        assertFalse(new WalOffset(0x20, 0).coveredBy(begin));
        // 3 changes: events up to 2 x 2 + 1 (an update's row), sub 1 (a tombstone) included.
        WalOffset end = WalOffset.endOf(0x20, 3);
        assertTrue(new WalOffset(0x20, 5).compareTo(end) < 0);
        assertTrue(new WalOffset(0x20, 4).next().compareTo(end) < 0);
        assertTrue(end.compareTo(WalOffset.beginOf(0x21)) < 0);
    }

    @Test
    void offsetsMadeWithTransactionMetadataSaySo() {
        WalOffset offset = new WalOffset(0x20, 4);
        Map<String, Object> marked = offset.toMap("0/20", true);
        assertEquals(Map.of("commit_lsn", "0/20", "event", 4L, "transaction_metadata", true), new HashMap<>(marked));
        assertEquals(Map.of("commit_lsn", "0/20", "event", 4L, "sub", 1L, "transaction_metadata", true),
                new HashMap<>(offset.next().toMap("0/20", true)));
        assertEquals(offset, WalOffset.fromMap(marked));
        assertTrue(WalOffset.markedWithTransactionMetadata(marked));
        assertFalse(WalOffset.markedWithTransactionMetadata(offset.toMap("0/20", false)));
        assertFalse(WalOffset.markedWithTransactionMetadata(null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WalOffset.fromMap(
                Map.of("commit_lsn", "0/20", "event", 4L, "transaction_metadata", "yes")));
        assertTrue(e.getMessage().contains("transaction_metadata"), e.getMessage());
    }

    @Test
    void refusesMalformedOffsetsNamingTheField() {
        for (Map<String, ?> bad : List.<Map<String, ?>>of(
                Map.of("event", 1L),
                Map.of("commit_lsn", 5L, "event", 1L),
                Map.of("commit_lsn", "16B374D848", "event", 1L),
                Map.of("commit_lsn", "-1/0", "event", 1L),
                Map.of("commit_lsn", "1/123456789", "event", 1L),
                Map.of("commit_lsn", "1/0", "event", "1"),
                Map.of("commit_lsn", "1/0", "event", -2L),
                Map.of("commit_lsn", "1/0", "event", 1L, "phase", "snapshot"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WalOffset.fromMap(bad),
                    bad.toString());
            assertTrue(e.getMessage().contains("commit_lsn") || e.getMessage().contains("event")
                    || e.getMessage().contains("WAL position"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> WalOffset.fromMap(null));
    }

    @Test
    void alterOffsetsTakesAWalOffsetForASlotPartition() {
        PgKeysetSourceConnector connector = new PgKeysetSourceConnector();
        Map<Map<String, ?>, Map<String, ?>> good = new HashMap<>();
        good.put(Map.of("slot", "pgkeyset_orders"), Map.of("commit_lsn", "0/16B3748", "event", 0));
        assertTrue(connector.alterOffsets(Map.of(), good));
        Map<Map<String, ?>, Map<String, ?>> reset = new HashMap<>();
        reset.put(Map.of("slot", "pgkeyset_orders"), null);
        assertTrue(connector.alterOffsets(Map.of(), reset));

        Map<Map<String, ?>, Map<String, ?>> keysetOffset = new HashMap<>();
        keysetOffset.put(Map.of("slot", "s"), Map.of("phase", "snapshot", "key_columns", "[\"id\"]", "key", "[1]"));
        ConnectException e = assertThrows(ConnectException.class, () -> connector.alterOffsets(Map.of(), keysetOffset));
        assertTrue(e.getMessage().contains("commit_lsn"), e.getMessage());

        Map<Map<String, ?>, Map<String, ?>> mixedPartition = new HashMap<>();
        mixedPartition.put(Map.of("slot", "s", "table", "public.t"), Map.of("commit_lsn", "0/1", "event", 0));
        e = assertThrows(ConnectException.class, () -> connector.alterOffsets(Map.of(), mixedPartition));
        assertTrue(e.getMessage().contains("slot name"), e.getMessage());

        Map<Map<String, ?>, Map<String, ?>> walOnTable = new HashMap<>();
        walOnTable.put(Map.of("table", "public.t"), Map.of("commit_lsn", "0/1", "event", 0));
        assertThrows(ConnectException.class, () -> connector.alterOffsets(Map.of(), walOnTable));
    }
}

package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.offset.WalOffset;
import dev.pgkeyset.connect.pg.TableId;

class PartitionFingerprintTest {

    @Test
    void leavesSurviveTheTextFormWithTheirOidFileAndName() {
        Map<Long, PartitionLeaves.Leaf> leaves = new LinkedHashMap<>();
        leaves.put(16401L, new PartitionLeaves.Leaf(16401L, new TableId("public", "p1"), 16401L, "FOR VALUES FROM (0) TO (100)", "741", "745"));
        leaves.put(4000000000L, new PartitionLeaves.Leaf(4000000000L, new TableId("Odd \"schema\"", "p.2"), 99L, "", null, "9"));
        String text = PartitionFingerprint.encode("4000", Map.of("public.p", leaves));
        PartitionFingerprint.Look look = PartitionFingerprint.decode(text);
        assertEquals("4000", look.xmin());
        Map<Long, PartitionLeaves.Leaf> back = look.byTable().get("public.p");
        assertEquals(leaves.keySet(), back.keySet());
        for (long oid : leaves.keySet()) {
            assertEquals(leaves.get(oid).id(), back.get(oid).id());
            assertEquals(leaves.get(oid).relfilenode(), back.get(oid).relfilenode());
            assertEquals(leaves.get(oid).link(), back.get(oid).link());
        }
    }

    @Test
    void theLeavesBeingCopiedSurviveTheTextFormAndAreLeftOutWhenNone() {
        Map<Long, PartitionLeaves.Leaf> leaves = new LinkedHashMap<>();
        leaves.put(16401L, new PartitionLeaves.Leaf(16401L, new TableId("public", "p1"), 16401L, "", "741", "745"));
        String none = PartitionFingerprint.encode("4000", Map.of("public.p", leaves), Map.of());
        assertTrue(!none.contains("copying"), none);
        assertEquals(Map.of(), PartitionFingerprint.decode(none).copying());
        String some = PartitionFingerprint.encode("4000", Map.of("public.p", leaves),
                Map.of("public.p", java.util.List.of(16401L, 4000000000L)));
        assertEquals(Map.of("public.p", java.util.List.of(16401L, 4000000000L)),
                PartitionFingerprint.decode(some).copying());
    }

    @Test
    void aMalformedCopyingIsRefusedNamingIt() {
        for (String bad : new String[] {"{\"look\": \"5\", \"tables\": {}, \"copying\": [1]}",
                "{\"look\": \"5\", \"tables\": {}, \"copying\": {\"public.p\": 7}}",
                "{\"look\": \"5\", \"tables\": {}, \"copying\": {\"public.p\": [\"x\"]}}",
                "{\"look\": \"5\", \"tables\": {}, \"copying\": {\"public.p\": [1.5]}}"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PartitionFingerprint.decode(bad));
            assertTrue(e.getMessage().contains("\"copying\""), e.getMessage());
        }
    }

    @Test
    void aMalformedFormIsRefusedNamingTheField() {
        for (String bad : new String[] {"not json", "[1,2]", "{\"public.p\": [[1, 2]]}", "{\"look\": \"5\", \"tables\": {\"public.p\": [[1, 2]]}}", "{\"look\": \"5\", \"tables\": {\"public.p\": [[\"x\", 2, \"a\", \"b\", \"7\"]]}}"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PartitionFingerprint.decode(bad));
            assertTrue(e.getMessage().contains("'partitions'"), e.getMessage());
        }
    }

    @Test
    void aWalOffsetCarriesThePartitionsAsText() {
        Map<String, Object> map = new WalOffset(0x16B374D848L, 4).toMap("16/B374D848", false, "{}");
        assertEquals("{}", WalOffset.partitions(map));
        assertEquals(new WalOffset(0x16B374D848L, 4), WalOffset.fromMap(map));
        Map<String, Object> notText = new LinkedHashMap<>(map);
        notText.put(WalOffset.PARTITIONS, 5L);
        assertThrows(IllegalArgumentException.class, () -> WalOffset.fromMap(notText));
    }
}

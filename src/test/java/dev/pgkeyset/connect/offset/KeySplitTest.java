package dev.pgkeyset.connect.offset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class KeySplitTest {

    private static final KeySplit SPLIT = new KeySplit(List.of(List.of(100L, "b"), List.of(200L, "a\"z")));

    @Test
    void rangesHaveTheirNeighboursBoundaries() {
        assertEquals(3, SPLIT.ranges());
        assertEquals(List.of(), SPLIT.lower(0));
        assertEquals(List.of(100L, "b"), SPLIT.upper(0));
        assertEquals(List.of(100L, "b"), SPLIT.lower(1));
        assertEquals(List.of(200L, "a\"z"), SPLIT.upper(1));
        assertEquals(List.of(), SPLIT.upper(2));
    }

    @Test
    void jsonRoundTripsExactly() {
        assertEquals("[[100,\"b\"],[200,\"a\\\"z\"]]", SPLIT.json());
        assertEquals(SPLIT, KeySplit.fromJson(SPLIT.json()));
        assertEquals(List.of(List.of("1.10")), KeySplit.fromJson("[[1.10]]").boundaries(), "decimals as written");
    }

    @Test
    void malformedSplitsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> KeySplit.fromJson("{}"));
        assertThrows(IllegalArgumentException.class, () -> KeySplit.fromJson("[[]]"));
        assertThrows(IllegalArgumentException.class, () -> KeySplit.fromJson("[1]"));
        assertThrows(IllegalArgumentException.class, () -> KeySplit.fromJson("[[1]"));
    }

    @Test
    void rangeOffsetsCarryTheSplit() {
        Map<String, Object> offset = OffsetCodec.recordOffset(Phase.SNAPSHOT, "[\"id\",\"name\"]",
                new Object[] {150L, "x"}, "2024-05-01 10:00:00.000000+00", SPLIT.json());
        KeysetOffset parsed = OffsetCodec.fromMap(offset);
        assertEquals(SPLIT, parsed.split());
        assertEquals(List.of(150L, "x"), parsed.key());
        assertEquals(SPLIT.json(), OffsetCodec.toMap(parsed).get(OffsetCodec.SPLIT));
        assertEquals(Map.of("table", "public.t", "range", "2"),
                TablePartition.ofRange(new dev.pgkeyset.connect.pg.TableId("public", "t"), 2));
    }
}

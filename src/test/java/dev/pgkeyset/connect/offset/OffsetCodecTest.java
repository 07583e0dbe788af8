package dev.pgkeyset.connect.offset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class OffsetCodecTest {

    @Test
    void roundTripsKeysExactly() {
        KeysetOffset offset = new KeysetOffset(Phase.SNAPSHOT, List.of("region", "id", "at", "amount"),
                List.of("eu \"quoted\" ü", 9007199254740993L, "2024-01-01T00:00:00.123456Z", "12345678901234567890.000001"));
        Map<String, Object> map = OffsetCodec.toMap(offset);
        assertEquals("snapshot", map.get("phase"));
        assertEquals("[\"eu \\\"quoted\\\" ü\",9007199254740993,\"2024-01-01T00:00:00.123456Z\","
                + "\"12345678901234567890.000001\"]", map.get("key"));
        map.values().forEach(v -> assertTrue(v instanceof String, "offsets hold primitives only"));
        assertEquals(offset, OffsetCodec.fromMap(map));
    }

    @Test
    void keyJsonMatchesTheMapForm() {
        assertEquals("[\"a\",1,true]", OffsetCodec.keyJson(new Object[] {"a", 1L, true}));
    }

    @Test
    void keyJsonEscapesLikeAJsonLibraryAndReadsBackExactly() throws Exception {
        Object[] tricky = {"quote\" back\\slash", "tab\tnew\nline\rcr", "ctl\u0001\u001f", "ünï \uD83D\uDE00", -5L};
        String json = OffsetCodec.keyJson(tricky);
        assertEquals(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(tricky), json);
        KeysetOffset back = OffsetCodec.fromMap(Map.of("phase", "snapshot",
                "key_columns", "[\"a\",\"b\",\"c\",\"d\",\"e\"]", "key", json));
        assertEquals(List.of(tricky), back.key());
    }

    @Test
    void decimalNumbersTypedByAUserKeepTheirDigits() {
        Map<String, Object> map = Map.of("phase", "snapshot", "key_columns", "[\"x\"]", "key", "[1.10]");
        assertEquals(List.of("1.10"), OffsetCodec.fromMap(map).key());
    }

    @Test
    void completedPhaseIsRecognised() {
        Map<String, Object> map = Map.of("phase", "snapshot_complete", "key_columns", "[\"id\"]", "key", "[3]");
        assertTrue(OffsetCodec.fromMap(map).snapshotComplete());
    }

    @Test
    void malformedOffsetsAreRefusedWithTheReason() {
        assertMessage(null, "null");
        assertMessage(Map.of("key_columns", "[\"id\"]", "key", "[1]"), "'phase'");
        assertMessage(Map.of("phase", "later", "key_columns", "[\"id\"]", "key", "[1]"), "unknown phase");
        assertMessage(Map.of("phase", "snapshot", "key_columns", "[\"id\"]", "key", "1"), "JSON array");
        assertMessage(Map.of("phase", "snapshot", "key_columns", "[\"id\"]", "key", "[1"), "not valid JSON");
        assertMessage(Map.of("phase", "snapshot", "key_columns", "[\"id\"]", "key", "[null]"), "numbers, booleans");
        assertMessage(Map.of("phase", "snapshot", "key_columns", "[\"id\"]", "key", "[1, 2]"), "2 values for 1");
        assertMessage(Map.of("phase", "snapshot", "key_columns", "[1]", "key", "[1]"), "column names");
        Map<String, Object> notString = new HashMap<>(Map.of("phase", "snapshot", "key_columns", "[\"id\"]"));
        notString.put("key", 5);
        assertMessage(notString, "'key' must be a string");
    }

    private static void assertMessage(Map<String, Object> map, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OffsetCodec.fromMap(map));
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    @Test
    void controlCharactersAreEscapedInAsciiWhateverTheDefaultLocale() {
        String expected = OffsetCodec.keyJson(new Object[] {"a\u0001b", 12L});
        assertEquals("[\"a\\u0001b\",12]", expected);
        for (java.util.Locale locale : dev.pgkeyset.connect.testing.DefaultLocale.HOSTILE) {
            dev.pgkeyset.connect.testing.DefaultLocale.under(locale, () -> assertEquals(expected,
                    OffsetCodec.keyJson(new Object[] {"a\u0001b", 12L}), locale.toLanguageTag()));
        }
    }
}

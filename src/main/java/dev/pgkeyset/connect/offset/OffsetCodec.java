package dev.pgkeyset.connect.offset;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;

/**
 * Source offsets as Kafka Connect stores them: a flat map of primitives (a Connect rule), the key
 * and its columns as JSON array strings, e.g.
 * {@code {"phase": "snapshot", "key_columns": "[\"region\",\"id\"]", "key": "[\"eu\",1001]"}}.
 * Reading is defensive: every malformed offset is refused with a message saying what is wrong,
 * so the same code serves offsets read at start-up and offsets a user alters over REST.
 */
public final class OffsetCodec {

    public static final String PHASE = "phase";
    public static final String KEY_COLUMNS = "key_columns";
    public static final String KEY = "key";
    public static final String CHANGES_FROM = "changes_from";
    /** In the offsets of a key range: the split of its table ({@link KeySplit#json()}). */
    public static final String SPLIT = "split";

    /** Reads decimals as written ({@code 1.10} stays {@code 1.10}), for key values a user types. */
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .setNodeFactory(JsonNodeFactory.withExactBigDecimals(true));

    private OffsetCodec() {
    }

    public static Map<String, Object> toMap(KeysetOffset offset) {
        Map<String, Object> map = new HashMap<>(4);
        map.put(PHASE, offset.phase().wireName());
        map.put(KEY_COLUMNS, writeJson(offset.keyColumns()));
        map.put(KEY, writeJson(offset.key()));
        if (offset.changesFrom() != null) {
            map.put(CHANGES_FROM, offset.changesFrom());
        }
        if (offset.split() != null) {
            map.put(SPLIT, offset.split().json());
        }
        return map;
    }

    private static final String[] RECORD_KEYS = {PHASE, KEY_COLUMNS, KEY};
    private static final String[] RECORD_KEYS_WITH_CHANGES_FROM = {PHASE, KEY_COLUMNS, KEY, CHANGES_FROM};

    /**
     * The offset map of one record, built cheaply (it is built once per record).
     *
     * @param keyColumnsJson the columns, already as JSON (the same for every record of a table)
     * @param changesFrom    null when the offset has none
     */
    public static Map<String, Object> recordOffset(Phase phase, String keyColumnsJson, Object[] position,
                                                   String changesFrom) {
        return recordOffset(phase, keyColumnsJson, position, changesFrom, null);
    }

    private static final String[] RANGE_RECORD_KEYS = {PHASE, KEY_COLUMNS, KEY, SPLIT};
    private static final String[] RANGE_RECORD_KEYS_WITH_CHANGES_FROM = {PHASE, KEY_COLUMNS, KEY, CHANGES_FROM, SPLIT};

    /**
     * @param splitJson the table's split, for a record of one of its key ranges; null otherwise
     */
    public static Map<String, Object> recordOffset(Phase phase, String keyColumnsJson, Object[] position,
                                                   String changesFrom, String splitJson) {
        if (splitJson != null) {
            return changesFrom == null
                    ? new OffsetMap(RANGE_RECORD_KEYS,
                            new Object[] {phase.wireName(), keyColumnsJson, keyJson(position), splitJson})
                    : new OffsetMap(RANGE_RECORD_KEYS_WITH_CHANGES_FROM,
                            new Object[] {phase.wireName(), keyColumnsJson, keyJson(position), changesFrom, splitJson});
        }
        return changesFrom == null
                ? new OffsetMap(RECORD_KEYS, new Object[] {phase.wireName(), keyColumnsJson, keyJson(position)})
                : new OffsetMap(RECORD_KEYS_WITH_CHANGES_FROM,
                        new Object[] {phase.wireName(), keyColumnsJson, keyJson(position), changesFrom});
    }

    /**
     * Writes key values (Long, Integer, Boolean, String) as a JSON array. Runs once per record, so
     * it writes the few scalar forms by hand instead of going through an ObjectMapper.
     */
    public static String keyJson(Object[] keyValues) {
        StringBuilder json = new StringBuilder(16 * keyValues.length + 2).append('[');
        for (int i = 0; i < keyValues.length; i++) {
            if (i > 0) {
                json.append(',');
            }
            Object value = keyValues[i];
            if (value instanceof Long || value instanceof Integer || value instanceof Boolean) {
                json.append(value);
            } else if (value instanceof String text) {
                appendString(json, text);
            } else {
                throw new IllegalStateException("key values must be JSON scalars, not " + value);
            }
        }
        return json.append(']').toString();
    }

    private static void appendString(StringBuilder json, String text) {
        json.append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> json.append("\\\"");
                case '\\' -> json.append("\\\\");
                case '\n' -> json.append("\\n");
                case '\r' -> json.append("\\r");
                case '\t' -> json.append("\\t");
                default -> {
                    if (c < 0x20) {
                        json.append(String.format(Locale.ROOT, "\\u%04X", (int) c));
                    } else {
                        json.append(c);
                    }
                }
            }
        }
        json.append('"');
    }

    public static String keyColumnsJson(List<String> keyColumns) {
        return writeJson(keyColumns);
    }

    /**
     * @throws IllegalArgumentException naming what is wrong with the offset
     */
    public static KeysetOffset fromMap(Map<String, ?> map) {
        if (map == null) {
            throw new IllegalArgumentException("the offset is null");
        }
        Phase phase = Phase.fromWire(requireString(map, PHASE));
        List<String> keyColumns = new ArrayList<>();
        for (JsonNode column : requireArray(map, KEY_COLUMNS)) {
            if (!column.isTextual()) {
                throw new IllegalArgumentException("'" + KEY_COLUMNS + "' must be a JSON array of column names");
            }
            keyColumns.add(column.asText());
        }
        List<Object> key = new ArrayList<>();
        for (JsonNode value : requireArray(map, KEY)) {
            key.add(scalar(value));
        }
        Object changesFrom = map.get(CHANGES_FROM);
        if (changesFrom != null && !(changesFrom instanceof String)) {
            throw new IllegalArgumentException("'" + CHANGES_FROM + "' must be a string, found " + changesFrom);
        }
        Object split = map.get(SPLIT);
        if (split != null && !(split instanceof String)) {
            throw new IllegalArgumentException("'" + SPLIT + "' must be a string, found " + split);
        }
        return new KeysetOffset(phase, keyColumns, key, (String) changesFrom,
                split == null ? null : KeySplit.fromJson((String) split));
    }

    /** The reader that keeps decimals exactly as written. */
    static ObjectMapper exactJson() {
        return JSON;
    }

    static Object scalar(JsonNode value) {
        if (value.isIntegralNumber() && value.canConvertToLong()) {
            return value.asLong();
        }
        if (value.isNumber()) {
            // Keep the digits as written; PostgreSQL parses them exactly.
            return value.decimalValue().toPlainString();
        }
        if (value.isBoolean()) {
            return value.asBoolean();
        }
        if (value.isTextual()) {
            return value.asText();
        }
        throw new IllegalArgumentException("'" + KEY + "' values must be numbers, booleans or strings, not " + value);
    }

    private static String requireString(Map<String, ?> map, String field) {
        Object value = map.get(field);
        if (!(value instanceof String s)) {
            throw new IllegalArgumentException("'" + field + "' must be a string, found " + value);
        }
        return s;
    }

    private static JsonNode requireArray(Map<String, ?> map, String field) {
        String text = requireString(map, field);
        try {
            JsonNode node = JSON.readTree(text);
            if (node == null || !node.isArray()) {
                throw new IllegalArgumentException("'" + field + "' must be a JSON array, found " + text);
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("'" + field + "' is not valid JSON: " + text);
        }
    }

    private static String writeJson(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}

package dev.pgkeyset.connect.offset;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * How a large table's snapshot is cut into key ranges: the boundaries between them, each a key in
 * offset form (values PostgreSQL casts back exactly). Range {@code i} holds the keys
 * {@code >= boundary(i-1)} and {@code < boundary(i)}; the first has no lower bound, the last no upper.
 *
 * <p>A split is decided once per table and then travels in every offset of its ranges, so a
 * connector that reconfigures its tasks (say tasks.max changed) finds the same ranges again
 * instead of cutting the table differently and reading finished ranges twice.
 */
public record KeySplit(List<List<Object>> boundaries) {

    public KeySplit {
        boundaries = boundaries.stream().map(List::copyOf).toList();
    }

    public int ranges() {
        return boundaries.size() + 1;
    }

    /** The inclusive lower bound of range {@code index}; empty for the first. */
    public List<Object> lower(int index) {
        return index == 0 ? List.of() : boundaries.get(index - 1);
    }

    /** The exclusive upper bound of range {@code index}; empty for the last. */
    public List<Object> upper(int index) {
        return index == boundaries.size() ? List.of() : boundaries.get(index);
    }

    /** The JSON form, as offsets and task configs carry it: {@code [[100000],[200000]]}. */
    public String json() {
        StringBuilder json = new StringBuilder("[");
        for (int i = 0; i < boundaries.size(); i++) {
            json.append(i == 0 ? "" : ",").append(OffsetCodec.keyJson(boundaries.get(i).toArray()));
        }
        return json.append(']').toString();
    }

    /**
     * @throws IllegalArgumentException naming what is wrong
     */
    public static KeySplit fromJson(String json) {
        try {
            JsonNode node = OffsetCodec.exactJson().readTree(json);
            if (node == null || !node.isArray()) {
                throw new IllegalArgumentException("a split must be a JSON array of keys, found " + json);
            }
            List<List<Object>> boundaries = new ArrayList<>();
            for (JsonNode boundary : node) {
                if (!boundary.isArray() || boundary.isEmpty()) {
                    throw new IllegalArgumentException("each boundary of a split must be a non-empty JSON array, "
                            + "found " + boundary);
                }
                List<Object> key = new ArrayList<>();
                boundary.forEach(v -> key.add(OffsetCodec.scalar(v)));
                boundaries.add(key);
            }
            return new KeySplit(boundaries);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("a split is not valid JSON: " + json);
        }
    }
}

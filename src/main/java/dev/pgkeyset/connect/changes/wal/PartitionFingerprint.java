package dev.pgkeyset.connect.changes.wal;

import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.pgkeyset.connect.pg.TableId;

/**
 * The leaf partitions of the captured partitioned tables in the text form the slot's offsets
 * carry ({@code "partitions"}): {@code {"schema.table": [[oid, relfilenode, "schema", "name"], ...]}}.
 * Only what tells a partition change apart is kept (not its bounds), so the text stays small.
 */
public final class PartitionFingerprint {

    private static final ObjectMapper JSON = new ObjectMapper();

    private PartitionFingerprint() {
    }

    /** @param byTable leaves by OID, per captured table ({@code schema.table}) */
    public static String encode(Map<String, Map<Long, PartitionLeaves.Leaf>> byTable) {
        ObjectNode root = JSON.createObjectNode();
        byTable.forEach((table, leaves) -> {
            ArrayNode list = root.putArray(table);
            for (PartitionLeaves.Leaf leaf : leaves.values()) {
                list.addArray().add(leaf.oid()).add(leaf.relfilenode()).add(leaf.id().schema()).add(leaf.id().table());
            }
        });
        return root.toString();
    }

    /**
     * @throws IllegalArgumentException when the text is not such a form (an offset altered by hand)
     */
    public static Map<String, Map<Long, PartitionLeaves.Leaf>> decode(String text) {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("'partitions' is not JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("'partitions' must be a JSON object of table to partitions, found "
                    + text);
        }
        Map<String, Map<Long, PartitionLeaves.Leaf>> byTable = new LinkedHashMap<>();
        root.fields().forEachRemaining(entry -> {
            Map<Long, PartitionLeaves.Leaf> leaves = new LinkedHashMap<>();
            for (JsonNode leaf : entry.getValue()) {
                if (!leaf.isArray() || leaf.size() != 4 || !leaf.get(0).canConvertToLong()
                        || !leaf.get(1).canConvertToLong()) {
                    throw new IllegalArgumentException("'partitions' of " + entry.getKey() + " must be [oid, "
                            + "relfilenode, schema, name] lists, found " + leaf);
                }
                long oid = leaf.get(0).asLong();
                leaves.put(oid, new PartitionLeaves.Leaf(oid, new TableId(leaf.get(2).asText(), leaf.get(3).asText()),
                        leaf.get(1).asLong(), 0, ""));
            }
            byTable.put(entry.getKey(), leaves);
        });
        return byTable;
    }
}

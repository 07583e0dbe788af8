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
 * carry ({@code "partitions"}): {@code {"look": "<xmin of the look>", "tables": {"schema.table":
 * [[oid, relfilenode, "schema", "name", "<link xid>"], ...]}}}, and, while the rows of leaves that
 * joined with rows are being copied, {@code "copying": {"schema.table": [oid, ...]}}. Only what
 * tells a partition change apart is kept (not its bounds), so the text stays small: about 50
 * bytes a partition.
 */
public final class PartitionFingerprint {

    private static final ObjectMapper JSON = new ObjectMapper();

    private PartitionFingerprint() {
    }

    /**
     * The partitions a look saw, and that look's xmin ({@link PartitionLeaves#lookXmin}).
     *
     * @param copying per table, the OIDs of leaves whose rows were still being copied (empty for none)
     */
    public record Look(String xmin, Map<String, Map<Long, PartitionLeaves.Leaf>> byTable,
                       Map<String, java.util.List<Long>> copying) {
    }

    /** @param byTable leaves by OID, per captured table ({@code schema.table}) */
    public static String encode(String lookXmin, Map<String, Map<Long, PartitionLeaves.Leaf>> byTable) {
        return encode(lookXmin, byTable, Map.of());
    }

    /** The same, with the leaves still being copied, per table (left out when there is none). */
    public static String encode(String lookXmin, Map<String, Map<Long, PartitionLeaves.Leaf>> byTable,
                                Map<String, java.util.List<Long>> copying) {
        ObjectNode root = JSON.createObjectNode();
        root.put("look", lookXmin);
        ObjectNode tables = root.putObject("tables");
        byTable.forEach((table, leaves) -> {
            ArrayNode list = tables.putArray(table);
            for (PartitionLeaves.Leaf leaf : leaves.values()) {
                list.addArray().add(leaf.oid()).add(leaf.relfilenode()).add(leaf.id().schema()).add(leaf.id().table())
                        .add(leaf.link());
            }
        });
        if (!copying.isEmpty()) {
            ObjectNode copies = root.putObject("copying");
            copying.forEach((table, oids) -> {
                ArrayNode list = copies.putArray(table);
                oids.forEach(list::add);
            });
        }
        return root.toString();
    }

    /**
     * @throws IllegalArgumentException when the text is not such a form (an offset altered by hand)
     */
    public static Look decode(String text) {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("'partitions' is not JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject() || !root.path("tables").isObject() || !root.path("look").isTextual()) {
            throw new IllegalArgumentException("'partitions' must be a JSON object with \"look\" (an xid) and "
                    + "\"tables\" (table to partitions), found " + text);
        }
        Map<String, Map<Long, PartitionLeaves.Leaf>> byTable = new LinkedHashMap<>();
        root.path("tables").fields().forEachRemaining(entry -> {
            Map<Long, PartitionLeaves.Leaf> leaves = new LinkedHashMap<>();
            for (JsonNode leaf : entry.getValue()) {
                if (!leaf.isArray() || leaf.size() != 5 || !leaf.get(0).canConvertToLong()
                        || !leaf.get(1).canConvertToLong()) {
                    throw new IllegalArgumentException("'partitions' of " + entry.getKey() + " must be [oid, "
                            + "relfilenode, schema, name, link] lists, found " + leaf);
                }
                long oid = leaf.get(0).asLong();
                leaves.put(oid, new PartitionLeaves.Leaf(oid, new TableId(leaf.get(2).asText(), leaf.get(3).asText()),
                        leaf.get(1).asLong(), "", leaf.get(4).isNull() ? null : leaf.get(4).asText(), null));
            }
            byTable.put(entry.getKey(), leaves);
        });
        Map<String, java.util.List<Long>> copying = new LinkedHashMap<>();
        JsonNode copies = root.path("copying");
        if (!copies.isMissingNode() && !copies.isObject()) {
            throw new IllegalArgumentException("'partitions' has \"copying\" that is not an object of table to "
                    + "partition OIDs: " + copies);
        }
        copies.fields().forEachRemaining(entry -> {
            java.util.List<Long> oids = new java.util.ArrayList<>();
            if (!entry.getValue().isArray()) {
                throw new IllegalArgumentException("'partitions' \"copying\" of " + entry.getKey() + " must be a "
                        + "list of partition OIDs, found " + entry.getValue());
            }
            for (JsonNode oid : entry.getValue()) {
                if (!oid.canConvertToLong() || !oid.isIntegralNumber()) {
                    throw new IllegalArgumentException("'partitions' \"copying\" of " + entry.getKey()
                            + " must be a list of partition OIDs, found " + entry.getValue());
                }
                oids.add(oid.asLong());
            }
            copying.put(entry.getKey(), java.util.List.copyOf(oids));
        });
        return new Look(root.path("look").asText(), byTable, copying);
    }
}

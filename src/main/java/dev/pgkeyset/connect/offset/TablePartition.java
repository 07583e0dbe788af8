package dev.pgkeyset.connect.offset;

import java.util.Map;

import dev.pgkeyset.connect.pg.TableId;

/**
 * Source partitions: {@code {"table": "schema.table"}} for a table, and
 * {@code {"table": "schema.table", "range": "2"}} for one key range of a large table's snapshot
 * (the index as a string: offsets come back from JSON, where a number might return as another type).
 */
public final class TablePartition {

    public static final String TABLE = "table";
    public static final String RANGE = "range";

    private TablePartition() {
    }

    public static Map<String, Object> of(TableId table) {
        return Map.of(TABLE, table.canonical());
    }

    /**
     * A HashMap on purpose: Kafka Connect finds committed offsets by the partition's serialized
     * bytes, and JSON writes a map's keys in its iteration order. Map.of's order changes from one
     * JVM to the next (a task restarted elsewhere would miss its offsets); a HashMap's is fixed by
     * the keys' hashes, and is also the order of the maps Connect itself decodes (its REST API).
     */
    public static Map<String, Object> ofRange(TableId table, int index) {
        Map<String, Object> partition = new java.util.HashMap<>(4);
        partition.put(TABLE, table.canonical());
        partition.put(RANGE, Integer.toString(index));
        return java.util.Collections.unmodifiableMap(partition);
    }
}

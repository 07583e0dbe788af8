package dev.pgkeyset.connect.offset;

import java.util.Map;

import dev.pgkeyset.connect.pg.TableId;

/** The source partition of a table: {@code {"table": "schema.table"}}. */
public final class TablePartition {

    public static final String TABLE = "table";

    private TablePartition() {
    }

    public static Map<String, Object> of(TableId table) {
        return Map.of(TABLE, table.canonical());
    }
}

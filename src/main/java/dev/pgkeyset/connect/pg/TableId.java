package dev.pgkeyset.connect.pg;

import java.util.Objects;

/**
 * A table (or view) by schema and name, exactly as PostgreSQL stores them (unquoted, case kept).
 * Its {@link #canonical()} form {@code schema.table} is what include/exclude patterns, key and
 * tracking overrides, source partitions and log lines use.
 */
public record TableId(String schema, String table) implements Comparable<TableId> {

    public TableId {
        Objects.requireNonNull(schema, "schema");
        Objects.requireNonNull(table, "table");
    }

    /** {@code schema.table}, unquoted. */
    public String canonical() {
        return schema + "." + table;
    }

    /** {@code "schema"."table"}, safe to splice into SQL. */
    public String quoted() {
        return Sql.quoteIdentifier(schema) + "." + Sql.quoteIdentifier(table);
    }

    @Override
    public int compareTo(TableId other) {
        int bySchema = schema.compareTo(other.schema);
        return bySchema != 0 ? bySchema : table.compareTo(other.table);
    }

    @Override
    public String toString() {
        return canonical();
    }
}

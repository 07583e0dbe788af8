package dev.pgkeyset.connect.pg;

import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A relation as the catalog describes it.
 *
 * @param primaryKey     primary key columns in key order; empty when there is none
 * @param indexLeadingColumns columns that lead a valid btree index
 * @param estimatedRows  {@code pg_class.reltuples} (summed over partitions), 0 when never analysed
 * @param oid            the relation's OID when it was read (the WAL names a relation by it, and it
 *                       stays when the table is renamed); 0 when not read from the catalog
 */
public record TableInfo(TableId id, TableKind kind, List<ColumnInfo> columns, List<String> primaryKey,
                        Set<String> indexLeadingColumns, long estimatedRows, long oid) {

    /** A relation not read from the catalog (no OID). */
    public TableInfo(TableId id, TableKind kind, List<ColumnInfo> columns, List<String> primaryKey,
                     Set<String> indexLeadingColumns, long estimatedRows) {
        this(id, kind, columns, primaryKey, indexLeadingColumns, estimatedRows, 0);
    }

    public Optional<ColumnInfo> column(String name) {
        return columns.stream().filter(c -> c.name().equals(name)).findFirst();
    }
}

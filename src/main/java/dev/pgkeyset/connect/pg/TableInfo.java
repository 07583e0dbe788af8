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
 */
public record TableInfo(TableId id, TableKind kind, List<ColumnInfo> columns, List<String> primaryKey,
                        Set<String> indexLeadingColumns, long estimatedRows) {

    public Optional<ColumnInfo> column(String name) {
        return columns.stream().filter(c -> c.name().equals(name)).findFirst();
    }
}

package dev.pgkeyset.connect.source;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import dev.pgkeyset.connect.config.TableColumnsOverrides;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.TableInfo;

/** A table the connector reads, with the keyset key it is read by. */
public record CapturedTable(TableInfo info, List<ColumnInfo> key) {

    /**
     * The key of a table: its {@code key.columns} entry if there is one, else its primary key.
     *
     * @return the table with its key, or a problem a person must fix (never both)
     */
    public static Resolution resolve(TableInfo table, TableColumnsOverrides keyColumns) {
        Optional<List<String>> override = keyColumns.columnsFor(table.id());
        List<String> names = override.orElse(table.primaryKey());
        if (names.isEmpty()) {
            return Resolution.problem("Table " + table.id() + " has no primary key; name its unique, non-null key "
                    + "columns in key.columns, e.g. '" + table.id() + ":id', or exclude it with table.exclude.list");
        }
        List<ColumnInfo> key = new ArrayList<>(names.size());
        for (String name : names) {
            Optional<ColumnInfo> column = table.column(name);
            if (column.isEmpty()) {
                return Resolution.problem("key.columns names column '" + name + "' of table " + table.id()
                        + ", which has no such column (columns: "
                        + table.columns().stream().map(ColumnInfo::name).toList() + ")");
            }
            key.add(column.get());
        }
        return new Resolution(new CapturedTable(table, List.copyOf(key)), null);
    }

    /** Either a captured table or the reason it cannot be captured. */
    public record Resolution(CapturedTable table, String problem) {
        static Resolution problem(String problem) {
            return new Resolution(null, problem);
        }

        public boolean ok() {
            return table != null;
        }
    }
}

package dev.pgkeyset.connect.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.apache.kafka.common.config.ConfigException;

import dev.pgkeyset.connect.pg.TableId;

/**
 * Per-table column lists typed as {@code schema.table:col1|col2} entries, as used by
 * {@code key.columns} (several columns) and {@code incremental.columns} (one column).
 * The table part is split at the last {@code ':'} so schema and table names may contain dots.
 */
public final class TableColumnsOverrides {

    private final Map<String, List<String>> columnsByTable;

    private TableColumnsOverrides(Map<String, List<String>> columnsByTable) {
        this.columnsByTable = Collections.unmodifiableMap(columnsByTable);
    }

    public static TableColumnsOverrides none() {
        return new TableColumnsOverrides(Map.of());
    }

    /**
     * @param configKey         named in every error
     * @param entries           the list value of the key
     * @param singleColumnOnly  true where an entry names exactly one column
     */
    public static TableColumnsOverrides parse(String configKey, List<String> entries, boolean singleColumnOnly) {
        Map<String, List<String>> byTable = new LinkedHashMap<>();
        for (String raw : entries) {
            String entry = raw.trim();
            if (entry.isEmpty()) {
                continue;
            }
            int colon = entry.lastIndexOf(':');
            if (colon <= 0 || colon == entry.length() - 1) {
                throw new ConfigException(configKey, entry,
                        "expected 'schema.table:" + (singleColumnOnly ? "column'" : "column1|column2'"));
            }
            String table = entry.substring(0, colon).trim();
            if (!table.contains(".")) {
                throw new ConfigException(configKey, entry,
                        "the table must be schema-qualified, e.g. 'public." + table + "'");
            }
            List<String> columns = List.of(entry.substring(colon + 1).split("\\|", -1)).stream()
                    .map(String::trim).toList();
            if (columns.stream().anyMatch(String::isEmpty)) {
                throw new ConfigException(configKey, entry, "a column name is empty");
            }
            if (singleColumnOnly && columns.size() != 1) {
                throw new ConfigException(configKey, entry, "exactly one column is expected per table");
            }
            if (columns.stream().distinct().count() != columns.size()) {
                throw new ConfigException(configKey, entry, "a column is named twice");
            }
            if (byTable.put(table, columns) != null) {
                throw new ConfigException(configKey, entry, "table '" + table + "' is listed twice");
            }
        }
        return new TableColumnsOverrides(byTable);
    }

    public Optional<List<String>> columnsFor(TableId table) {
        return Optional.ofNullable(columnsByTable.get(table.canonical()));
    }
}

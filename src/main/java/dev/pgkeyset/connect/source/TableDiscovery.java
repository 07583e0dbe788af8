package dev.pgkeyset.connect.source;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.config.TableFilter;
import dev.pgkeyset.connect.pg.Catalog;
import dev.pgkeyset.connect.pg.TableInfo;

/**
 * Finds the tables a configuration captures and the key of each. Views, materialized views and
 * foreign tables without a {@code key.columns} entry are passed over (they have no primary key
 * to fall back on); a table without a key is a problem a person must fix.
 */
public final class TableDiscovery {

    private TableDiscovery() {
    }

    /**
     * @param captured     tables that will be read, sorted by name
     * @param skippedViews views etc. matching the include list but lacking key.columns
     * @param problems     one message per table that cannot be captured as configured
     */
    public record Result(List<CapturedTable> captured, List<TableInfo> skippedViews, List<String> problems) {
    }

    public static Result discover(Connection connection, PgKeysetConfig config) throws SQLException {
        TableFilter filter = config.tableFilter();
        List<CapturedTable> captured = new ArrayList<>();
        List<TableInfo> skipped = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (TableInfo table : Catalog.tables(connection, filter::captures)) {
            if (!table.kind().canHavePrimaryKey() && config.keyColumns().columnsFor(table.id()).isEmpty()) {
                skipped.add(table);
                continue;
            }
            CapturedTable.Resolution resolution = CapturedTable.resolve(table, config);
            if (resolution.ok()) {
                captured.add(resolution.table());
            } else {
                problems.add(resolution.problem());
            }
        }
        return new Result(captured, skipped, problems);
    }
}

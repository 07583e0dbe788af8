package dev.pgkeyset.connect.tables;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiFunction;
import java.util.function.Function;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.config.TableFilter;
import dev.pgkeyset.connect.pg.Catalog;
import dev.pgkeyset.connect.pg.TableId;
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
        // A key compared by an operator other than its order's would skip rows on every resume.
        Map<TableId, String> misordered = KeyOperators.problems(connection, captured);
        captured.removeIf(t -> misordered.containsKey(t.info().id()));
        problems.addAll(misordered.values());
        // money read in a locale of the connector's role alone would arrive scaled.
        Map<TableId, String> moneyScaled = MoneyLocale.problems(connection, captured);
        captured.removeIf(t -> moneyScaled.containsKey(t.info().id()));
        problems.addAll(moneyScaled.values());
        // Two tables whose names differ only in characters a topic name cannot hold ("a b" and a_b)
        // would share one topic, their keys mixed.
        problems.addAll(collisions(captured, config::topicFor, TableId::toString,
                (topic, tables) -> "Tables " + tables + " would all write to topic '" + topic + "' (characters "
                        + "outside [A-Za-z0-9._-] become '_'); exclude all but one of them with table.exclude.list"));
        // Two tables whose names join into one schema.table ("a.b".c and a."b.c") would share one
        // source partition, so one would resume from the other's offset and skip rows (a long
        // topic.prefix hashes them onto different topics, so the topic check does not catch them).
        problems.addAll(collisions(captured, TableId::canonical, TableId::quoted,
                (name, tables) -> "Tables " + tables + " are both named '" + name + "' in the connector's offsets "
                        + "(source partition), key.columns and table patterns, so their positions would mix; exclude "
                        + "all but one of them with table.exclude.list, or rename one"));
        return new Result(captured, skipped, problems);
    }

    /** One problem for each group of two or more tables that {@code key} maps to the same value, naming them all. */
    private static List<String> collisions(List<CapturedTable> captured, Function<TableId, String> key,
                                           Function<TableId, String> label,
                                           BiFunction<String, String, String> problem) {
        Map<String, List<String>> byKey = new TreeMap<>();
        for (CapturedTable table : captured) {
            byKey.computeIfAbsent(key.apply(table.info().id()), k -> new ArrayList<>())
                    .add(label.apply(table.info().id()));
        }
        List<String> problems = new ArrayList<>();
        byKey.forEach((value, tables) -> {
            if (tables.size() > 1) {
                problems.add(problem.apply(value, String.join(" and ", tables)));
            }
        });
        return problems;
    }
}

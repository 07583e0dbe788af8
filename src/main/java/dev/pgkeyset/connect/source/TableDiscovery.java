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
        problems.addAll(topicCollisions(captured, config));
        problems.addAll(partitionCollisions(captured));
        return new Result(captured, skipped, problems);
    }

    /**
     * Two tables whose names join into one {@code schema.table} ({@code "a.b".c} and
     * {@code a."b.c"}) would share one source partition, so one would resume from the other's
     * offset and skip rows (a long topic.prefix hashes them onto different topics, so the topic
     * check does not catch them): refused, naming both.
     */
    private static List<String> partitionCollisions(List<CapturedTable> captured) {
        java.util.Map<String, List<String>> byName = new java.util.TreeMap<>();
        for (CapturedTable table : captured) {
            byName.computeIfAbsent(table.info().id().canonical(), n -> new ArrayList<>())
                    .add(table.info().id().quoted());
        }
        List<String> problems = new ArrayList<>();
        byName.forEach((name, tables) -> {
            if (tables.size() > 1) {
                problems.add("Tables " + String.join(" and ", tables) + " are both named '" + name + "' in the "
                        + "connector's offsets (source partition), key.columns and table patterns, so their "
                        + "positions would mix; exclude all but one of them with table.exclude.list, or rename one");
            }
        });
        return problems;
    }

    /**
     * Two tables whose names differ only in characters a topic name cannot hold ({@code "a b"} and
     * {@code a_b}) would share one topic, their keys mixed: refused, naming both.
     */
    private static List<String> topicCollisions(List<CapturedTable> captured, PgKeysetConfig config) {
        java.util.Map<String, List<String>> byTopic = new java.util.TreeMap<>();
        for (CapturedTable table : captured) {
            byTopic.computeIfAbsent(config.topicFor(table.info().id()), t -> new ArrayList<>())
                    .add(table.info().id().toString());
        }
        List<String> problems = new ArrayList<>();
        byTopic.forEach((topic, tables) -> {
            if (tables.size() > 1) {
                problems.add("Tables " + String.join(" and ", tables) + " would all write to topic '" + topic
                        + "' (characters outside [A-Za-z0-9._-] become '_'); exclude all but one of them with "
                        + "table.exclude.list");
            }
        });
        return problems;
    }
}

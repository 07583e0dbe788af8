package dev.pgkeyset.connect.tables;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiFunction;
import java.util.function.Function;

import dev.pgkeyset.connect.config.CaptureMode;
import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.config.SnapshotMode;
import dev.pgkeyset.connect.config.TableFilter;
import dev.pgkeyset.connect.pg.Catalog;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.ReplicaIdentities;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.pg.TableInfo;
import dev.pgkeyset.connect.pg.TableKind;

/**
 * Finds the tables a configuration captures and the key of each. Views, materialized views and
 * foreign tables without a {@code key.columns} entry are passed over (they have no primary key
 * to fall back on); a table without a key is a problem a person must fix. With capture.mode=wal
 * such a relation named in key.columns is a problem too (it cannot be published), and so is a
 * table whose replica identity does not carry its key ({@link ReplicaIdentityCheck}).
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
        boolean wal = config.captureMode() == CaptureMode.WAL;
        for (TableInfo table : Catalog.tables(connection, filter::captures)) {
            boolean keyConfigured = config.keyColumns().columnsFor(table.id()).isPresent();
            if (!table.kind().canHavePrimaryKey() && !keyConfigured) {
                skipped.add(table);
                continue;
            }
            if (wal && !table.kind().canHavePrimaryKey()) {
                problems.add(notPublishable(table));
                continue;
            }
            CapturedTable.Resolution resolution = CapturedTable.resolve(table, config);
            if (resolution.ok()) {
                captured.add(resolution.table());
            } else {
                problems.add(resolution.problem());
            }
        }
        if (wal && config.snapshotMode() != SnapshotMode.INITIAL_ONLY) {
            // Dropped from the captured set, never put into the publication: once published, a table
            // without a usable replica identity refuses its application's UPDATEs and DELETEs.
            captured = withIdentity(connection, config, captured, problems);
        }
        // A key compared by an operator other than its order's would skip rows on every resume.
        Map<TableId, String> misordered = KeyOperators.problems(connection, captured);
        captured.removeIf(t -> misordered.containsKey(t.info().id()));
        problems.addAll(misordered.values());
        // money read in a locale of the connector's role alone would arrive scaled; in wal mode, so
        // would money read in a locale whose fraction digits are not the WAL text's 2.
        Map<TableId, String> moneyScaled = MoneyLocale.problems(connection, captured, wal);
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

    /**
     * capture.mode=wal: a view, materialized view or foreign table writes no WAL of its own and
     * cannot be in a publication.
     */
    static String notPublishable(TableInfo table) {
        return "Table " + table.id() + " is a " + kindName(table.kind()) + ": capture.mode=wal reads changes from the "
                + "WAL through a publication, which holds only tables and partitioned tables. Capture the table(s) it "
                + "reads from instead, exclude it with table.exclude.list, or use capture.mode=query for it in a "
                + "connector of its own.";
    }

    private static String kindName(TableKind kind) {
        return switch (kind) {
            case VIEW -> "view";
            case MATERIALIZED_VIEW -> "materialized view";
            case FOREIGN_TABLE -> "foreign table";
            default -> kind.name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    /** The tables whose rows the WAL identifies by their key; the others become problems. */
    private static List<CapturedTable> withIdentity(Connection connection, PgKeysetConfig config,
                                                    List<CapturedTable> tables, List<String> problems)
            throws SQLException {
        Map<TableId, ReplicaIdentities.Table> identities = ReplicaIdentities.of(connection,
                tables.stream().map(t -> t.info().id()).toList());
        List<CapturedTable> identified = new ArrayList<>(tables.size());
        for (CapturedTable table : tables) {
            TableId id = table.info().id();
            ReplicaIdentities.Table facts = identities.get(id);
            if (facts == null) {
                continue; // dropped since it was listed: the next discovery no longer sees it
            }
            List<String> found = ReplicaIdentityCheck.problems(id, table.key().stream().map(ColumnInfo::name).toList(),
                    config.keyColumns().columnsFor(id).isPresent(), facts);
            if (found.isEmpty()) {
                identified.add(table);
            } else {
                problems.addAll(found);
            }
        }
        return identified;
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

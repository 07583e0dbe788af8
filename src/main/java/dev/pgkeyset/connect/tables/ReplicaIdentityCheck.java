package dev.pgkeyset.connect.tables;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.pg.ReplicaIdentities;
import dev.pgkeyset.connect.pg.Sql;
import dev.pgkeyset.connect.pg.TableId;

/**
 * capture.mode=wal: can the WAL identify the rows of a captured table? A delete, and an update that
 * changes the key, reach the stream with only the old row's replica identity columns, and the
 * connector keys the tombstone of the old row by them. So the record key's columns must be among
 * the replica identity columns, and none of them generated (pgoutput sends no generated column,
 * not even under REPLICA IDENTITY FULL). A table with no usable identity is worse than unreadable: once a
 * publication publishes its updates and deletes, PostgreSQL refuses every UPDATE and DELETE on it,
 * so the connector must never put it into its publication.
 *
 * <p>A pure function of the catalog facts ({@link ReplicaIdentities}); for a partitioned table it
 * checks each leaf partition, since the partitions' own identities decide what is logged (their
 * changes are streamed under the parent's name with publish_via_partition_root).
 */
public final class ReplicaIdentityCheck {

    private ReplicaIdentityCheck() {
    }

    /**
     * @param key           the columns the table's records are keyed by
     * @param keyConfigured the key comes from key.columns (not the primary key): a mismatch is then
     *                      reported on key.columns
     * @return one problem per relation whose rows cannot be identified, worded as
     *         {@link TableDiscovery} problems (a leading "key.columns: " routes it to that key)
     */
    public static List<String> problems(TableId table, List<String> key, boolean keyConfigured,
                                        ReplicaIdentities.Table facts) {
        List<String> problems = new ArrayList<>();
        List<String> generatedKey = key.stream().filter(facts.generatedColumns()::contains).toList();
        if (!generatedKey.isEmpty()) {
            // Not even REPLICA IDENTITY FULL helps: pgoutput leaves generated columns out of every
            // tuple it sends, old or new, so a delete would reach the stream without its key.
            String prefix = keyConfigured ? PgKeysetConfig.KEY_COLUMNS + ": " : "";
            problems.add(prefix + "Table " + table + " is keyed by " + columns(key) + ", which includes the generated "
                    + "column(s) " + columns(generatedKey) + ": pgoutput (before PostgreSQL 18) never sends generated "
                    + "columns, so its deletes and key-changing updates would reach the WAL without their key. Key it "
                    + "by columns that are not generated (a unique index on them, named in key.columns and set with "
                    + "ALTER TABLE " + table.quoted() + " REPLICA IDENTITY USING INDEX ...), capture it with "
                    + "capture.mode=query, or exclude it with table.exclude.list.");
            return problems;
        }
        if (!facts.partitioned()) {
            problem(table, key, keyConfigured, facts.self()).ifPresent(problems::add);
        }
        for (ReplicaIdentities.Relation partition : facts.partitions()) {
            problem(table, key, keyConfigured, partition).ifPresent(problems::add);
        }
        return problems;
    }

    static Optional<String> problem(TableId captured, List<String> key, boolean keyConfigured,
                                    ReplicaIdentities.Relation relation) {
        String subject = relation.partition() ? "Partition " + relation.id() + " of table " + captured
                : "Table " + captured;
        String alter = "ALTER TABLE " + relation.id().quoted();
        if (relation.unlogged()) {
            return Optional.of(subject + " is UNLOGGED: its changes are not written to the WAL, so capture.mode=wal "
                    + "cannot see them (and PostgreSQL cannot publish it). Run " + alter + " SET LOGGED, or exclude "
                    + "the table with table.exclude.list.");
        }
        if (relation.mode() == ReplicaIdentities.Mode.FULL) {
            return Optional.empty(); // the whole old row is logged: any key is in it
        }
        String remedy = " Run " + alter + " REPLICA IDENTITY FULL (the WAL then logs the whole old row of each "
                + "update and delete)" + usingIndex(relation, key).map(index -> ", or " + alter
                + " REPLICA IDENTITY USING INDEX " + Sql.quoteIdentifier(index.name()) + " (the unique index on "
                + columns(index.columns()) + ")").orElse("");
        String noIdentity = " the WAL would carry nothing to key its deletes and updates by, and once the table is "
                + "in a publication PostgreSQL refuses every UPDATE and DELETE on it.";
        String orExclude = ", or exclude the table with table.exclude.list.";
        Optional<ReplicaIdentities.Index> identity;
        String identityName;
        switch (relation.mode()) {
            case NOTHING -> {
                return Optional.of(subject + " has REPLICA IDENTITY NOTHING:" + noIdentity + remedy + orExclude);
            }
            case DEFAULT -> {
                identity = relation.primaryKey();
                if (identity.isEmpty()) {
                    return Optional.of(subject + " has REPLICA IDENTITY DEFAULT but no primary key:" + noIdentity
                            + remedy + ", add a primary key" + orExclude);
                }
                identityName = "its primary key " + columns(identity.get().columns());
            }
            default -> { // INDEX
                identity = relation.identityIndex();
                if (identity.isEmpty()) {
                    return Optional.of(subject + " has REPLICA IDENTITY USING INDEX, but that index no longer "
                            + "exists:" + noIdentity + remedy + orExclude);
                }
                identityName = "the index " + identity.get().name() + " " + columns(identity.get().columns());
            }
        }
        if (new HashSet<>(identity.get().columns()).containsAll(key)) {
            return Optional.empty();
        }
        String prefix = keyConfigured ? PgKeysetConfig.KEY_COLUMNS + ": " : "";
        String rekey = relation.partition() ? "" : ", or key the table by its replica identity in key.columns ('"
                + captured + ":" + String.join("|", identity.get().columns()) + "')";
        return Optional.of(prefix + subject + " is keyed by " + columns(key) + (keyConfigured ? " (key.columns)" : "")
                + " but its replica identity is " + identityName + ": its deletes and key-changing updates reach the "
                + "WAL without " + columns(key) + ", so their records could not be keyed." + remedy + rekey
                + orExclude);
    }

    /** A unique index on exactly the key's columns that REPLICA IDENTITY USING INDEX accepts. */
    private static Optional<ReplicaIdentities.Index> usingIndex(ReplicaIdentities.Relation relation, List<String> key) {
        return relation.indexes().stream()
                .filter(i -> i.usableAsIdentity() && i.columnsNotNull()
                        && new HashSet<>(i.columns()).equals(new HashSet<>(key)) && i.columns().size() == key.size())
                .min((a, b) -> Boolean.compare(b.primary(), a.primary()));
    }

    private static String columns(List<String> columns) {
        return "(" + String.join(", ", columns) + ")";
    }
}

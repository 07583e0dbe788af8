package dev.pgkeyset.connect.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

import dev.pgkeyset.connect.config.WalSetupChecks.Problem;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.PublicationFacts;
import dev.pgkeyset.connect.pg.Sql;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.pg.TableInfo;
import dev.pgkeyset.connect.pg.TableKind;

/**
 * What a user's publication ({@code publication.autocreate=disabled}) must offer capture.mode=wal,
 * as a function of its facts: every operation published (else those changes are lost without a
 * word), partitioned tables published through their root (their changes then arrive under the
 * captured table's name), and every captured table in it, whole (no column list, no row filter).
 * Reported on publication.name. With {@code filtered} none of this is checked: the task makes the
 * publication so ({@code changes.wal.Publication#ensureFiltered}).
 *
 * <p>The one place that decides what is wrong with a publication and which SQL fixes it: validate()
 * (through {@link WalPreconditions}) and the task at start (through {@code changes.wal.Publication#check})
 * both ask it, so the two never disagree.
 */
public final class PublicationChecks {

    /** A captured table as the checks see it. */
    public record Captured(TableId id, boolean partitioned, List<String> columns) {

        public static Captured of(TableInfo table) {
            return new Captured(table.id(), table.kind() == TableKind.PARTITIONED_TABLE,
                    table.columns().stream().map(ColumnInfo::name).toList());
        }
    }

    private PublicationChecks() {
    }

    /**
     * {@code publication.autocreate=disabled}: each reason the publication (empty: it does not
     * exist) does not carry every change of {@code tables}, with the SQL that fixes it; empty when
     * it does.
     */
    public static List<Problem> userPublication(String name, Optional<PublicationFacts> publication,
                                                List<Captured> tables) {
        if (publication.isEmpty()) {
            return List.of(problem(missingProblem(name, tables)));
        }
        return problems(publication.get(), tables);
    }

    static String missingProblem(String publication, List<Captured> tables) {
        return "Publication '" + publication + "' does not exist, and publication.autocreate=disabled does not "
                + "create it. Run CREATE PUBLICATION " + Sql.quoteIdentifier(publication) + " FOR TABLE "
                + Summary.join(tables.stream().map(t -> t.id().quoted()).toList(), ", ", Summary.NAMES_SHOWN)
                + " WITH (publish_via_partition_root = true), or set publication.autocreate=filtered.";
    }

    /** Each reason the existing {@code publication} does not carry every change of {@code tables}. */
    static List<Problem> problems(PublicationFacts publication, List<Captured> tables) {
        List<Problem> problems = new ArrayList<>();
        String name = Sql.quoteIdentifier(publication.name());
        operations(publication).ifPresent(problems::add);
        List<String> partitioned = tables.stream().filter(Captured::partitioned).map(t -> t.id().toString()).toList();
        if (!publication.viaRoot() && !partitioned.isEmpty()) {
            problems.add(problem("Publication '" + publication.name() + "' publishes partitioned table(s) "
                    + Summary.join(partitioned, ", ", Summary.NAMES_SHOWN) + " partition by partition "
                    + "(publish_via_partition_root = false), so their changes would arrive under the partitions' "
                    + "names. Run ALTER PUBLICATION " + name + " SET (publish_via_partition_root = true)."));
        }
        List<TableId> missing = new ArrayList<>();
        for (Captured table : tables) {
            if (table.partitioned() && !publication.viaRoot()) {
                continue; // its leaves are listed instead; reported above
            }
            PublicationFacts.Published published = publication.tables().get(table.id());
            if (published == null) {
                missing.add(table.id());
                continue;
            }
            String readd = "ALTER PUBLICATION " + name + " DROP TABLE " + table.id().quoted() + "; ALTER PUBLICATION "
                    + name + " ADD TABLE " + table.id().quoted();
            if (published.columns() != null && !published.columns().containsAll(table.columns())) {
                List<String> absent = table.columns().stream().filter(c -> !published.columns().contains(c)).toList();
                problems.add(problem("Publication '" + publication.name() + "' publishes only some columns of table "
                        + table.id() + " (a column list), without " + String.join(", ", absent) + ": its records "
                        + "would lack them. Publish the whole table: " + readd + "."));
            }
            if (published.rowFilter() != null) {
                problems.add(problem("Publication '" + publication.name() + "' publishes only the rows of table "
                        + table.id() + " WHERE " + published.rowFilter() + ": changes of other rows would never arrive "
                        + "(and an update moving a row out of the filter arrives as a delete). Publish every row: "
                        + readd + "."));
            }
        }
        if (!missing.isEmpty()) {
            problems.add(problem("Publication '" + publication.name() + "' does not publish captured table(s) "
                    + Summary.join(missing.stream().map(TableId::toString).toList(), ", ", Summary.NAMES_SHOWN)
                    + ": their changes would never arrive. Run ALTER PUBLICATION " + name + " ADD TABLE "
                    + Summary.join(missing.stream().map(TableId::quoted).toList(), ", ", Summary.NAMES_SHOWN)
                    + ", or exclude them with table.exclude.list."));
        }
        return problems;
    }

    private static Optional<Problem> operations(PublicationFacts publication) {
        List<String> absent = new ArrayList<>();
        if (!publication.insert()) {
            absent.add("insert");
        }
        if (!publication.update()) {
            absent.add("update");
        }
        if (!publication.delete()) {
            absent.add("delete");
        }
        if (!publication.truncate()) {
            absent.add("truncate");
        }
        if (absent.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(problem("Publication '" + publication.name() + "' does not publish "
                + absent.stream().collect(Collectors.joining(", ")) + ", so those changes would be lost without a "
                + "word. Run ALTER PUBLICATION " + Sql.quoteIdentifier(publication.name())
                + " SET (publish = 'insert, update, delete, truncate')."));
    }

    private static Problem problem(String message) {
        return new Problem(PgKeysetConfig.PUBLICATION_NAME, message);
    }
}

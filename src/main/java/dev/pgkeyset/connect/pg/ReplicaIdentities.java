package dev.pgkeyset.connect.pg;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the WAL records of a table's updates and deletes identify a row by: its replica identity
 * ({@code pg_class.relreplident}) and the indexes it could use instead. A partitioned table holds
 * no rows; what is logged for its rows is decided by each leaf partition's own replica identity
 * ({@code ALTER TABLE parent REPLICA IDENTITY ...} does not reach the partitions), so the leaves
 * are read too. One query for all tables.
 */
public final class ReplicaIdentities {

    /**
     * Each wanted relation, the leaf partitions of a partitioned one, and every index that
     * could identify its rows (primary key, replica identity index, unique indexes).
     */
    private static final String SQL = """
            WITH wanted AS (
                SELECT q.nsp, q.rel, c.oid AS top, c.relkind
                  FROM unnest(CAST(? AS text[]), CAST(? AS text[])) AS q(nsp, rel)
                  JOIN pg_namespace n ON n.nspname = q.nsp
                  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = q.rel
            ), rels AS (
                SELECT w.nsp, w.rel, w.top AS oid FROM wanted w
                UNION ALL
                SELECT w.nsp, w.rel, t.relid FROM wanted w CROSS JOIN LATERAL pg_partition_tree(w.top) t
                 WHERE w.relkind = 'p' AND t.isleaf
            )
            SELECT r.nsp, r.rel, rn.nspname, rc.relname, rc.relkind, rc.relreplident, rc.relpersistence,
                   ic.relname, coalesce(i.indisprimary, false), coalesce(i.indisreplident, false),
                   coalesce(i.indisunique AND i.indimmediate AND i.indisvalid AND i.indpred IS NULL
                            AND i.indexprs IS NULL, false),
                   ARRAY(SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, pos)
                           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                          WHERE k.pos <= i.indnkeyatts ORDER BY k.pos),
                   (SELECT coalesce(bool_and(a.attnotnull), false)
                      FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, pos)
                      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                     WHERE k.pos <= i.indnkeyatts),
                   ARRAY(SELECT a.attname FROM pg_attribute a
                          WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> ''
                          ORDER BY a.attnum)
              FROM rels r
              JOIN pg_class rc ON rc.oid = r.oid
              JOIN pg_namespace rn ON rn.oid = rc.relnamespace
              LEFT JOIN pg_index i ON i.indrelid = r.oid AND (i.indisprimary OR i.indisreplident OR i.indisunique)
              LEFT JOIN pg_class ic ON ic.oid = i.indexrelid
             ORDER BY r.nsp, r.rel, rn.nspname, rc.relname, ic.relname
            """;

    private ReplicaIdentities() {
    }

    /** {@code pg_class.relreplident}. */
    public enum Mode {
        DEFAULT, NOTHING, FULL, INDEX;

        static Mode of(String relreplident) {
            return switch (relreplident) {
                case "d" -> DEFAULT;
                case "n" -> NOTHING;
                case "f" -> FULL;
                case "i" -> INDEX;
                default -> throw new IllegalArgumentException("unknown relreplident " + relreplident);
            };
        }
    }

    /**
     * An index that identifies rows or could.
     *
     * @param usableAsIdentity unique, immediate, valid, without predicate or expressions (what
     *                         {@code REPLICA IDENTITY USING INDEX} accepts, nullability aside)
     * @param columnsNotNull   every key column is NOT NULL (also required by USING INDEX)
     */
    public record Index(String name, boolean primary, boolean replicaIdentity, boolean usableAsIdentity,
                        List<String> columns, boolean columnsNotNull) {
    }

    /**
     * One relation that holds rows.
     *
     * @param partition true for a leaf partition of a captured partitioned table
     * @param unlogged  an unlogged table writes no WAL: it cannot be published
     */
    public record Relation(TableId id, boolean partition, Mode mode, boolean unlogged, List<Index> indexes) {

        public Optional<Index> primaryKey() {
            return indexes.stream().filter(Index::primary).findFirst();
        }

        public Optional<Index> identityIndex() {
            return indexes.stream().filter(Index::replicaIdentity).findFirst();
        }
    }

    /**
     * A captured table's identity facts.
     *
     * @param self        the table itself
     * @param partitioned a partitioned table: its rows, and so its identity, are its partitions'
     * @param partitions  its leaf partitions when it is partitioned (empty otherwise)
     * @param generatedColumns its stored generated columns, which pgoutput before PostgreSQL 18 never sends
     */
    public record Table(Relation self, boolean partitioned, List<Relation> partitions, List<String> generatedColumns) {

        public Table(Relation self, boolean partitioned, List<Relation> partitions) {
            this(self, partitioned, partitions, List.of());
        }
    }

    public static Map<TableId, Table> of(Connection connection, List<TableId> tables) throws SQLException {
        Map<TableId, Table> result = new LinkedHashMap<>();
        if (tables.isEmpty()) {
            return result;
        }
        Map<TableId, Map<TableId, RelationBuilder>> byTable = new LinkedHashMap<>();
        Map<TableId, List<String>> generated = new LinkedHashMap<>();
        java.util.Set<TableId> partitioned = new java.util.HashSet<>();
        try (PreparedStatement st = connection.prepareStatement(SQL)) {
            st.setArray(1, connection.createArrayOf("text", tables.stream().map(TableId::schema).toArray()));
            st.setArray(2, connection.createArrayOf("text", tables.stream().map(TableId::table).toArray()));
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    TableId captured = new TableId(rs.getString(1), rs.getString(2));
                    TableId relation = new TableId(rs.getString(3), rs.getString(4));
                    if (relation.equals(captured)) {
                        if ("p".equals(rs.getString(5))) {
                            partitioned.add(captured);
                        }
                        generated.put(captured, strings(rs.getArray(14)));
                    }
                    Mode mode = Mode.of(rs.getString(6));
                    boolean unlogged = "u".equals(rs.getString(7));
                    RelationBuilder builder = byTable.computeIfAbsent(captured, k -> new LinkedHashMap<>())
                            .computeIfAbsent(relation, k -> new RelationBuilder(relation, !relation.equals(captured),
                                    mode, unlogged));
                    String index = rs.getString(8);
                    if (index != null) {
                        builder.indexes.add(new Index(index, rs.getBoolean(9), rs.getBoolean(10), rs.getBoolean(11),
                                strings(rs.getArray(12)), rs.getBoolean(13)));
                    }
                }
            }
        }
        byTable.forEach((captured, relations) -> {
            Relation self = relations.get(captured).build();
            List<Relation> partitions = relations.values().stream().filter(r -> r.partition)
                    .map(RelationBuilder::build).toList();
            result.put(captured, new Table(self, partitioned.contains(captured), partitions,
                    generated.getOrDefault(captured, List.of())));
        });
        return result;
    }

    private static List<String> strings(Array array) throws SQLException {
        return array == null ? List.of() : Arrays.stream((Object[]) array.getArray()).map(Object::toString).toList();
    }

    private static final class RelationBuilder {
        final TableId id;
        final boolean partition;
        final Mode mode;
        final boolean unlogged;
        final List<Index> indexes = new ArrayList<>();

        RelationBuilder(TableId id, boolean partition, Mode mode, boolean unlogged) {
            this.id = id;
            this.partition = partition;
            this.mode = mode;
            this.unlogged = unlogged;
        }

        Relation build() {
            return new Relation(id, partition, mode, unlogged, List.copyOf(indexes));
        }
    }
}

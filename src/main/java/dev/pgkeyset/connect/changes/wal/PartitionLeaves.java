package dev.pgkeyset.connect.changes.wal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.pgkeyset.connect.pg.TableId;

/**
 * The leaf partitions of captured partitioned tables, as the catalog has them now: what
 * {@link PartitionWatch} compares from one look to the next, because partition maintenance
 * (ATTACH, DETACH, DROP or TRUNCATE of one partition) writes no row change to the stream.
 */
public final class PartitionLeaves {

    /**
     * One leaf partition.
     *
     * @param relfilenode its storage file: TRUNCATE gives it a new one (so do VACUUM FULL and CLUSTER)
     * @param reltuples   {@code pg_class.reltuples}: -1 after a TRUNCATE until the next ANALYZE or
     *                    VACUUM, a count after VACUUM FULL or CLUSTER, which is how the two are told apart
     * @param bound       its partition bound ({@code FOR VALUES ...}), for messages
     */
    public record Leaf(long oid, TableId id, long relfilenode, double reltuples, String bound) {
    }

    private static final String SQL = """
            SELECT r.root, c.oid, n.nspname, c.relname, c.relfilenode, c.reltuples,
                   pg_catalog.pg_get_expr(c.relpartbound, c.oid)
              FROM pg_catalog.unnest(CAST(? AS pg_catalog.text[])) AS r(root)
             CROSS JOIN LATERAL pg_catalog.pg_partition_tree(pg_catalog.to_regclass(r.root)) t
              JOIN pg_catalog.pg_class c ON c.oid = t.relid
              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE t.isleaf
             ORDER BY r.root, c.oid""";

    private PartitionLeaves() {
    }

    /**
     * The leaves of each of {@code roots} (quoted names), by OID; a root that no longer exists is
     * left out (a dropped table stops as any other).
     */
    public static Map<String, Map<Long, Leaf>> read(Connection connection, List<String> roots) throws SQLException {
        Map<String, Map<Long, Leaf>> leaves = new LinkedHashMap<>();
        for (String root : roots) {
            leaves.put(root, new LinkedHashMap<>());
        }
        try (PreparedStatement st = connection.prepareStatement(SQL)) {
            st.setArray(1, connection.createArrayOf("text", roots.toArray()));
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    Leaf leaf = new Leaf(rs.getLong(2), new TableId(rs.getString(3), rs.getString(4)), rs.getLong(5),
                            rs.getDouble(6), rs.getString(7));
                    leaves.get(rs.getString(1)).put(leaf.oid(), leaf);
                }
            }
        }
        try (PreparedStatement st = connection.prepareStatement(
                "SELECT u.name FROM pg_catalog.unnest(CAST(? AS pg_catalog.text[])) AS u(name)"
                        + " WHERE pg_catalog.to_regclass(u.name) IS NULL")) {
            st.setArray(1, connection.createArrayOf("text", roots.toArray()));
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    leaves.remove(rs.getString(1));
                }
            }
        }
        return leaves;
    }

    /**
     * Whether a leaf that joined {@code root} holds rows older than its joining: rows of a table
     * attached with its rows, which the stream never carried. A row's {@code xmin} older than the
     * newest {@code pg_inherits} link between the leaf and the root was written before that link
     * (frozen rows read as xid 2, the oldest). A leaf made by {@code CREATE TABLE ... PARTITION OF}
     * has none: its rows were written by its creating transaction or later, and streamed.
     * Stops at the first such row; it reads the whole leaf only when there is none.
     */
    public static boolean holdsRowsOlderThanItsAttachment(Connection connection, Leaf leaf, String root)
            throws SQLException {
        try (PreparedStatement st = connection.prepareStatement("SELECT EXISTS (SELECT 1 FROM ONLY "
                + leaf.id().quoted() + " r WHERE pg_catalog.age(r.xmin) > (SELECT pg_catalog.min(pg_catalog.age(i.xmin))"
                + " FROM pg_catalog.pg_partition_ancestors(CAST(? AS pg_catalog.oid)) a(anc)"
                + " JOIN pg_catalog.pg_inherits i ON i.inhrelid = a.anc"
                + " WHERE a.anc <> pg_catalog.to_regclass(?)))")) {
            st.setLong(1, leaf.oid());
            st.setString(2, root);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    /** Whether a relation with this OID still exists (a detached partition), or not (dropped). */
    public static boolean exists(Connection connection, long oid) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE oid = CAST(? AS pg_catalog.oid))")) {
            st.setLong(1, oid);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }
}

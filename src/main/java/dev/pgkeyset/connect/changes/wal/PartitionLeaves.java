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
     * @param relfilenode its storage file: TRUNCATE gives it a new one (so do VACUUM FULL and CLUSTER,
     *                    told apart by {@link PartitionLeaves#keptRowsOlderThan})
     * @param bound       its partition bound ({@code FOR VALUES ...}), for messages
     * @param link        the xid of the newest {@code pg_inherits} link between it and the root: a
     *                    partition detached and attached again keeps its OID and file, not this
     *                    ("2" once the catalog row is frozen)
     * @param classXmin   the xid of its {@code pg_class} row: the transaction that gave it its file
     *                    (a TRUNCATE), since ANALYZE and VACUUM update that row in place
     */
    public record Leaf(long oid, TableId id, long relfilenode, String bound, String link,
                       String classXmin) {
    }

    /** The xid PostgreSQL shows for a frozen row. */
    public static final String FROZEN_XID = "2";

    private static final String SQL = """
            SELECT r.root, c.oid, n.nspname, c.relname, c.relfilenode,
                   pg_catalog.pg_get_expr(c.relpartbound, c.oid),
                   (SELECT i.xmin::pg_catalog.text FROM pg_catalog.pg_partition_ancestors(c.oid) a(anc)
                      JOIN pg_catalog.pg_inherits i ON i.inhrelid = a.anc
                     WHERE a.anc <> pg_catalog.to_regclass(r.root)
                     ORDER BY pg_catalog.age(i.xmin) LIMIT 1),
                   c.xmin::pg_catalog.text
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
                            rs.getString(6), rs.getString(7), rs.getString(8));
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
     * The oldest xid still running when this is called (as a 32-bit xid in text): a row whose
     * {@code xmin} is older was committed before (or frozen).
     */
    public static String lookXmin(Connection connection) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement("SELECT (pg_catalog.txid_snapshot_xmin("
                + "pg_catalog.txid_current_snapshot()) % 4294967296)::pg_catalog.text");
             ResultSet rs = st.executeQuery()) {
            rs.next();
            return rs.getString(1);
        }
    }

    /**
     * Whether a leaf with a new file kept rows committed before {@code xmin} (a look's
     * {@link #lookXmin}): VACUUM FULL, CLUSTER and rewriting ALTERs keep each row's xmin, a
     * TRUNCATE keeps no row. (An empty partition rewritten looks truncated: the safe side.)
     */
    public static boolean keptRowsOlderThan(Connection connection, Leaf leaf, String xmin) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement("SELECT EXISTS (SELECT 1 FROM ONLY "
                + leaf.id().quoted() + " r WHERE pg_catalog.age(r.xmin) > pg_catalog.age(CAST(? AS pg_catalog.xid)))")) {
            st.setString(1, xmin);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    /**
     * Whether a leaf that joined a captured table holds any row. Taken as rows the WAL may not
     * have carried: which of them were written before the leaf was a partition cannot be told
     * from the rows. Their {@code xmin} does not say it: a row inserted by a transaction that
     * took its xid after the attaching one but committed before the {@code ATTACH} (which waits
     * for it), or in a subtransaction of the attaching one, has a newer xid than the
     * {@code pg_inherits} link and was never published. So a leaf with rows is copied; the rows
     * of one created as a partition and filled before the next look come twice (streamed, then
     * copied), which the copy's rule that the stream's newer record wins keeps right. Stops at the
     * first row.
     */
    public static boolean holdsRows(Connection connection, Leaf leaf) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement("SELECT EXISTS (SELECT 1 FROM ONLY "
                + leaf.id().quoted() + ")");
             ResultSet rs = st.executeQuery()) {
            rs.next();
            return rs.getBoolean(1);
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

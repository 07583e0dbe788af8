package dev.pgkeyset.connect.snapshot;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.pg.Catalog;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.PgTypeResolver;
import dev.pgkeyset.connect.query.KeysetQuery;
import dev.pgkeyset.connect.record.ColumnChanges;
import dev.pgkeyset.connect.record.TablePlan;

/**
 * Reads one snapshot chunk in one short transaction: its snapshot S first, then the next rows in
 * key order after the last row handed over, then the chunk's watermark, a transactional logical
 * message, then the commit (flushed at once, so the walsender sends it without waiting for the
 * WAL writer). Why this order is what makes the chunk's rows safe to hand over at the watermark:
 * see {@code task/ChunkedSnapshot}.
 */
public final class ChunkQuery {

    private static final Logger log = LoggerFactory.getLogger(ChunkQuery.class);

    /** The message prefix of watermarks, for anyone reading the WAL with messages on. */
    public static final String WATERMARK_PREFIX = "pgkeyset-watermark";

    /** How long a chunk waits for its table's lock before it is given up and taken again later. */
    public static final int LOCK_WAIT_MILLIS = 50;

    /** SQLSTATE lock_not_available: the lock was not granted within {@link #LOCK_WAIT_MILLIS}. */
    public static final String LOCK_NOT_AVAILABLE = "55P03";

    /**
     * @param chunk          null when the chunk was given up: {@code seen} holds a transaction S does not see
     * @param columnsChanged the plan under the table's new columns when they changed; null otherwise
     */
    public record Result(SnapshotChunk chunk, TablePlan columnsChanged) {
    }

    private final int chunkSize;
    private final long maxBytes;
    private final PgTypeResolver types = new PgTypeResolver();
    /** Rows per fetch, learned from the last chunk's row width so one fetch holds about half of maxBytes. */
    private int fetchSize = 100;

    public ChunkQuery(int chunkSize, long maxBytes) {
        this.chunkSize = chunkSize;
        this.maxBytes = maxBytes;
    }

    /**
     * @param connection autocommit off, no transaction open
     * @param after      the key position of the last row handed over; null for the table's start
     */
    public Result take(Connection connection, TablePlan plan, Object[] after, XidsSeen seen, String watermark)
            throws SQLException {
        return take(connection, plan, after, seen, watermark, null);
    }

    /**
     * The same, for the rows of one leaf partition of {@code plan}'s partitioned table
     * ({@code leaf}; null for the whole table). A leaf that is no longer a partition (detached or
     * dropped since) has no rows left to copy: the chunk is empty and the last.
     */
    public Result take(Connection connection, TablePlan plan, Object[] after, XidsSeen seen, String watermark,
                       LeafCopy leaf) throws SQLException {
        try {
            TablePlan changed = followSchemaChange(connection, plan);
            connection.commit();
            TablePlan current = changed == null ? plan : changed;
            try (Statement st = connection.createStatement()) {
                st.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
                // The table's lock before the snapshot (LOCK takes none): a table rewrite (ALTER
                // TABLE ... TYPE, ADD COLUMN with a volatile default) or a TRUNCATE is not MVCC-safe,
                // and one running when S is taken would commit before the SELECT gets its lock; the
                // SELECT would then read the new heap, whose every row carries the rewrite's xid,
                // which S does not see: an empty chunk, taken for the end of the table. Locked first,
                // S sees the rewrite's result or the rewrite waits until the chunk commits.
                // Not waited for long: the stream is read on this thread, and a session holding a
                // conflicting lock (VACUUM FULL, CLUSTER, LOCK TABLE, an ALTER queued behind a reader)
                // would stall every captured table's stream and the slot meanwhile. The chunk is
                // taken again a moment later (LOCK_NOT_AVAILABLE).
                st.execute("SET LOCAL lock_timeout = '" + LOCK_WAIT_MILLIS + "ms'");
                st.execute("LOCK TABLE " + current.id().quoted() + " IN ACCESS SHARE MODE");
            }
            PgSnapshot snapshot;
            try (Statement st = connection.createStatement();
                 ResultSet rs = st.executeQuery("SELECT pg_catalog.pg_current_snapshot()::text")) {
                rs.next();
                snapshot = PgSnapshot.parse(rs.getString(1));
            }
            if (!seen.allSeenBy(snapshot)) {
                log.debug("Table {}: chunk given up, transaction {} was delivered by the stream but is still running "
                        + "in snapshot {}", plan.id(), seen.firstUnseenBy(snapshot), snapshot);
                connection.rollback();
                return new Result(null, changed);
            }
            if (after == null) {
                NullKeyCheck.snapshot(connection, current);
            }
            List<SnapshotChunk.Row> rows = new ArrayList<>();
            boolean more;
            if (leaf == null) {
                more = readRows(connection, current, after, rows, null);
            } else {
                KeysetQuery.Restriction restriction = leafRows(connection, leaf);
                more = restriction != null && readRows(connection, current, after, rows, restriction);
            }
            if (!more) {
                NullKeyCheck.snapshot(connection, current);
            }
            try (PreparedStatement st = connection.prepareStatement(
                    "SELECT pg_catalog.pg_logical_emit_message(true, ?, ?::bytea)")) {
                st.setString(1, WATERMARK_PREFIX);
                st.setBytes(2, watermark.getBytes(StandardCharsets.UTF_8));
                st.executeQuery().close();
            }
            try (Statement st = connection.createStatement()) {
                // Flushed at commit without waiting for a synchronous standby: the walsender sends
                // only flushed WAL, and the chunk's rows wait for this message.
                st.execute("SET LOCAL synchronous_commit = local");
            }
            connection.commit();
            return new Result(new SnapshotChunk(current, snapshot, watermark, rows, more, leaf), changed);
        } catch (SQLException | RuntimeException e) {
            try {
                connection.rollback();
            } catch (SQLException ignored) {
                // the connection is broken; the pool discards it
            }
            throw e;
        }
    }

    /**
     * Reads up to {@code chunkSize} rows, or fewer when they reach {@code maxBytes}; true when the
     * table has more (one row more than kept was there, or the byte limit stopped the read).
     */
    private boolean readRows(Connection connection, TablePlan plan, Object[] after, List<SnapshotChunk.Row> rows,
                             KeysetQuery.Restriction restriction) throws SQLException {
        KeysetQuery query = plan.snapshotQuery(after == null ? List.of() : Arrays.asList(after), restriction);
        long bytes = 0;
        try (PreparedStatement st = connection.prepareStatement(query.sql() + " LIMIT " + (chunkSize + 1L))) {
            query.bind(st);
            st.setFetchSize(Math.min(fetchSize, chunkSize + 1));
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    if (rows.size() >= chunkSize || bytes >= maxBytes) {
                        learnFetchSize(rows.size(), bytes);
                        return true;
                    }
                    Object[] raw = plan.readRow(rs);
                    long size = plan.estimateBytes(raw);
                    rows.add(new SnapshotChunk.Row(raw, plan.position(raw, false), size));
                    bytes += size;
                }
            }
        }
        learnFetchSize(rows.size(), bytes);
        return false;
    }

    /**
     * The rows of {@code leaf} as a part of the table the query reads: its OID, and its partition
     * constraint (its bound and its ancestors'), which the planner prunes the other partitions by;
     * the OID alone would be a filter over every partition. Null when it is no longer a
     * partition in this chunk's snapshot.
     */
    public static KeysetQuery.Restriction leafRows(Connection connection, LeafCopy leaf) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement("SELECT c.relispartition,"
                + " pg_catalog.pg_get_partition_constraintdef(c.oid) FROM pg_catalog.pg_class c"
                + " WHERE c.oid = CAST(? AS pg_catalog.oid)")) {
            st.setLong(1, leaf.oid());
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next() || !rs.getBoolean(1)) {
                    return null;
                }
                String constraint = rs.getString(2);
                String oid = "tableoid = CAST(? AS pg_catalog.oid)";
                return new KeysetQuery.Restriction(constraint == null ? oid : oid + " AND " + constraint,
                        List.of(Long.toString(leaf.oid())));
            }
        }
    }

    private void learnFetchSize(int rows, long bytes) {
        if (rows > 0) {
            long perRow = Math.max(1, bytes / rows);
            fetchSize = (int) Math.max(1, Math.min(chunkSize + 1L, maxBytes / 2 / perRow));
        }
    }

    private TablePlan followSchemaChange(Connection connection, TablePlan plan) throws SQLException {
        List<ColumnInfo> current = Catalog.columnsOf(connection, plan.id(), types);
        if (current.equals(plan.columns())) {
            return null;
        }
        log.info("Table {}: columns changed ({}); snapshot chunks from here on carry the new schema", plan.id(),
                ColumnChanges.describe(plan.columns(), current));
        return plan.withColumns(current);
    }
}

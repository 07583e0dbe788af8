package dev.pgkeyset.connect.task;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.apache.kafka.common.metrics.PluginMetrics;
import org.apache.kafka.connect.errors.ConnectException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.changes.wal.PgOutputMessage;
import dev.pgkeyset.connect.changes.wal.SnapshotBesideStream;
import dev.pgkeyset.connect.changes.wal.WalStats;
import dev.pgkeyset.connect.offset.KeysetOffset;
import dev.pgkeyset.connect.offset.OffsetCodec;
import dev.pgkeyset.connect.offset.Phase;
import dev.pgkeyset.connect.pg.ConnectionFactory;
import dev.pgkeyset.connect.pg.OwnSessions;
import dev.pgkeyset.connect.pg.SqlErrors;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.record.TablePlan;
import dev.pgkeyset.connect.snapshot.ChunkQuery;
import dev.pgkeyset.connect.snapshot.LeafCopy;
import dev.pgkeyset.connect.snapshot.SnapshotChunk;
import dev.pgkeyset.connect.snapshot.SnapshotProgress;
import dev.pgkeyset.connect.snapshot.XidsSeen;

/**
 * The snapshot of capture.mode=wal, read in keyset chunks while the slot's stream runs (the idea of
 * Netflix's DBLog): no transaction lasts longer than one chunk's query, the slot's confirmed
 * position keeps moving during the snapshot, and a restart goes on after the last row delivered.
 *
 * <h2>Why a chunk's rows may join the stream at its watermark</h2>
 * A chunk is one short REPEATABLE READ transaction ({@link ChunkQuery}): its snapshot S is taken,
 * the chunk's rows are read in S, and a watermark, a transactional logical message, is written
 * before it commits. The rows are held until the stream delivers the watermark (at the chunk
 * transaction's commit, so after every transaction that committed before it), and join the stream
 * there, less the rows the stream changed in between by transactions S does not see. That is
 * right for every row the chunk read:
 * <ul>
 * <li>A transaction S sees left the server's list of running transactions before S was taken, so
 *     its commit record was written before the watermark: the stream has delivered it before the
 *     watermark, and the chunk's row shows its effect. The row is no older than any record before it.</li>
 * <li>A transaction S does not see that the stream delivers before the watermark changed the row
 *     after S: the stream's record is newer than the chunk's row, which is left out (DBLog's rule).
 *     Such a transaction is either running when S is taken or starts after, and commits before the
 *     watermark. (PostgreSQL writes a commit record before it takes the transaction off the
 *     running list, so "committed before the watermark" and "seen by S" differ for the few
 *     transactions that commit around S; a synchronous standby can make that window long.)</li>
 * <li>A transaction the stream delivers after the watermark is not seen by S (its commit record
 *     comes after the watermark's, which was written after S): its records follow the chunk's row.</li>
 * </ul>
 * One case is left: a transaction S does not see whose commit the stream had delivered already
 * when the chunk was taken (it committed and was decoded, but was still on the running list when S
 * was taken). Its record is older in the stream than the chunk's row would be, and newer in the
 * table. {@link XidsSeen} catches it: S must see every transaction the stream has delivered since
 * the last chunk; when it does not, the chunk is given up before it writes its watermark, and
 * taken again a moment later.
 *
 * <p>A watermark rather than a WAL position read with {@code pg_current_wal_lsn()}: the stream
 * says exactly when it has delivered everything before a message of its own, while a position
 * would have to be compared with keepalives, whose WAL end may sit on a page boundary or wait for
 * the next record on an idle server. The message needs no signaling table, no write access to a
 * captured table and no privilege beyond what a role with LOGIN has ({@code pg_logical_emit_message}
 * is executable by PUBLIC), and {@code messages} from PostgreSQL 14.
 *
 * <p>Offsets: a chunk's rows carry their table's keyset offsets, as the snapshot of the query
 * mode does; the table's position moves only when a chunk's rows are handed over, so a chunk
 * lost to a stream failure or a crash is read again, from the last row delivered.
 */
public final class ChunkedSnapshot implements SnapshotBesideStream, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ChunkedSnapshot.class);

    /** How long a chunk given up (a transaction committed but still running) waits before it is taken again. */
    private static final Duration RETAKE_AFTER = Duration.ofMillis(5);

    /** How long a chunk whose table is locked by another session waits before it is taken again. */
    private static final Duration LOCK_RETRY = Duration.ofMillis(200);

    /** When no chunk is due, the transactions seen are forgotten once this many are held (see {@link #transactionBegins}). */
    private static final int FORGET_SEEN_AT = 1024;

    /** One table still to snapshot (or one leaf partition of it to copy), and where its next chunk starts. */
    private static final class TableToCopy {
        TablePlan plan;
        /** The leaf partition whose rows are copied; null for the whole table's snapshot. */
        final LeafCopy leaf;
        /** Run when the leaf's copy is done (its last chunk handed over); null for a table. */
        final Runnable copied;
        /** The copy's id ({@code PartitionWatch.Copy}); 0 for a table. */
        final long copyId;
        /** Key position of the last row handed over; null before the first. */
        Object[] position;
        final TableStats stats;
        final SnapshotProgress progress;
        final ReadFailures failures;
        long chunks;
        long dropped;
        long rowsHandedOver;
        /** Whether the wait for a lock held by another session was logged (once per wait). */
        boolean lockWaitLogged;
        /** Whether the wait for a renamed table was logged (once per copy). */
        boolean renameWaitLogged;
        /** For a table's snapshot: tells its table renamed away from dropped. Null for a leaf's copy. */
        final TableRename rename;
        /**
         * Not taken before this moment (its table is not found under its name): meanwhile the
         * entries queued behind it go first.
         */
        long retryAtNanos = System.nanoTime();

        TableToCopy(TablePlan plan, Object[] position, TableStats stats, ReaderSettings settings) {
            this(plan, null, 0, null, position, stats, settings);
        }

        TableToCopy(TablePlan plan, LeafCopy leaf, long copyId, Runnable copied, Object[] position, TableStats stats,
                    ReaderSettings settings) {
            this.plan = plan;
            this.leaf = leaf;
            this.copyId = copyId;
            this.copied = copied;
            this.position = position;
            this.stats = stats;
            this.progress = new SnapshotProgress(leaf == null ? plan.slice().toString()
                    : plan.id() + " partition " + leaf.leaf(), stats, System.nanoTime());
            this.failures = new ReadFailures(plan.id(), settings.retry());
            this.rename = leaf == null ? new TableRename(plan.id()) : null;
        }
    }

    private final Deque<TableToCopy> tables;
    private final ConnectionFactory connections;
    private final ChunkQuery query;
    private final XidsSeen seen = new XidsSeen();
    /** Tells this task's watermarks from those of earlier runs and other connectors. */
    private final String runId = UUID.randomUUID().toString();
    private long chunkSequence;
    /** The chunk waiting for its watermark; null when none. */
    private SnapshotChunk waiting;
    private long notBeforeNanos;
    private boolean doneLogged;

    private final WalStats stats;
    private final ReaderSettings settings;
    /** What a table snapshot's record gets before it is handed over (the partitions in its offset). */
    private java.util.function.UnaryOperator<org.apache.kafka.connect.source.SourceRecord> tableRecords =
            java.util.function.UnaryOperator.identity();
    private final int chunkSize;

    private ChunkedSnapshot(Deque<TableToCopy> tables, ConnectionFactory connections, ChunkQuery query,
                            WalStats stats, ReaderSettings settings, int chunkSize) {
        this.stats = stats;
        this.chunkSize = chunkSize;
        this.settings = settings;
        this.tables = tables;
        this.connections = connections;
        this.query = query;
    }

    /**
     * The captured tables whose snapshot is not complete, each from its committed offset.
     *
     * @param committed the committed offsets of the tables' partitions (a partition without one maps to null)
     */
    public static ChunkedSnapshot open(List<TablePlan> plans, Map<Map<String, Object>, Map<String, Object>> committed,
                                       ConnectionFactory connections, ReaderSettings settings, int chunkSize,
                                       long chunkMaxBytes, PluginMetrics metrics, WalStats walStats) {
        Deque<TableToCopy> tables = new ArrayDeque<>();
        for (TablePlan plan : plans) {
            Map<String, Object> stored = committed == null ? null : committed.get(plan.partition());
            KeysetOffset offset = stored == null ? null : parse(plan, stored);
            if (offset != null && offset.phase() != Phase.SNAPSHOT) {
                continue;
            }
            if (offset != null && !offset.keyColumns().equals(plan.keyColumnNames())) {
                throw new ConnectException("The committed offset of table " + plan.id() + " is a position over "
                        + offset.keyColumns() + ", but the table is now read by " + plan.keyColumnNames()
                        + ". Restore the previous key.columns, or delete the connector's offsets for this table "
                        + "(PATCH/DELETE /connectors/<name>/offsets) to snapshot it again from the start.");
            }
            TableStats stats = new TableStats(plan.estimatedRows());
            stats.register(metrics, plan.slice());
            tables.add(new TableToCopy(plan, offset == null ? null : offset.key().toArray(), stats, settings));
            log.info("Table {}: snapshot in chunks of up to {} rows beside the stream, {}", plan.id(), chunkSize,
                    offset == null ? "from the start" : "resuming after key " + offset.key());
        }
        return new ChunkedSnapshot(tables, connections, new ChunkQuery(chunkSize, chunkMaxBytes), walStats, settings,
                chunkSize);
    }

    /**
     * Copies the rows of leaf partition {@code leaf} of {@code plan}'s table beside the stream,
     * after the tables queued before (so after that table's own snapshot, when it still runs),
     * unless one of them waits for its table's name (a rename, {@link TableRename}): then the
     * copy may go first. Either order is right, since every chunk is as of its own watermark: the
     * table's snapshot reads the leaf's rows above its position later, and newer. The copy's rows carry the stream's
     * offsets, not the table's; {@code copied} runs when the last of them is handed over.
     */
    public void copyLeaf(TablePlan plan, LeafCopy leaf, long copyId, Runnable copied) {
        tables.addLast(new TableToCopy(plan, leaf, copyId, copied, null, new TableStats(0), settings));
        doneLogged = false;
        log.info("Table {}: partition {} joined it with rows the WAL does not carry; they are copied in chunks of up "
                + "to {} rows beside the stream", plan.id(), leaf.leaf(), chunkSize);
    }

    private static KeysetOffset parse(TablePlan plan, Map<String, Object> stored) {
        try {
            return OffsetCodec.fromMap(stored);
        } catch (IllegalArgumentException e) {
            throw new ConnectException("The committed offset of table " + plan.id() + " is malformed ("
                    + e.getMessage() + "): " + stored + ". Correct or delete it with PATCH/DELETE "
                    + "/connectors/<name>/offsets.");
        }
    }

    /**
     * Every record of a table's snapshot goes through {@code mark} before it is handed over (a
     * partitioned table's offsets carry its partitions, {@code PartitionWatch.withPartitions}).
     */
    public void markTableRecordsWith(java.util.function.UnaryOperator<org.apache.kafka.connect.source.SourceRecord> mark) {
        this.tableRecords = mark;
    }

    /**
     * Drops what is left of copy {@code copyId} (its leaf left the table): a chunk of it waiting
     * for its watermark is dropped too (its rows were read while the leaf was still a partition,
     * but the copy is taken again from the start if the leaf comes back).
     */
    public void stopCopy(long copyId) {
        TableToCopy first = tables.peekFirst();
        if (first != null && first.copyId == copyId && waiting != null) {
            waiting = null;
        }
        tables.removeIf(t -> t.copyId == copyId && copyId != 0);
    }

    /** True once every table's last chunk was handed over (and every leaf copy's). */
    public boolean finished() {
        return tables.isEmpty();
    }

    /** Whether a chunk waits for its watermark (the stream must be read for it to arrive). */
    public boolean waiting() {
        return waiting != null;
    }

    /**
     * Takes the next chunk when none waits for its watermark: one short transaction on the
     * database, while the stream's unread messages wait in the walsender and the socket.
     */
    public void takeChunkIfDue() {
        if (waiting != null || tables.isEmpty() || System.nanoTime() < notBeforeNanos) {
            if (tables.isEmpty() && !doneLogged) {
                doneLogged = true;
                log.info("Snapshots done; the stream goes on alone");
            }
            if (tables.isEmpty() && seen.size() >= FORGET_SEEN_AT) {
                forgetSeenTransactions();
            }
            return;
        }
        TableToCopy table = firstDue();
        if (table == null) {
            return;
        }
        String watermark = runId + "/" + (++chunkSequence);
        String session = null;
        try (Connection connection = connections.open()) {
            session = OwnSessions.enter(connection);
            if (table.rename != null) {
                table.rename.remember(connection);
                connection.commit();
            }
            ChunkQuery.Result result = query.take(connection, table.plan, table.position, seen, watermark,
                    table.leaf);
            table.failures.readSucceeded();
            table.lockWaitLogged = false;
            if (table.rename != null) {
                table.rename.found();
            }
            if (result.columnsChanged() != null) {
                table.plan = result.columnsChanged();
            }
            if (result.chunk() == null) {
                // A transaction the stream delivered is still on the server's running list.
                stats.chunkRetaken();
                notBeforeNanos = System.nanoTime() + RETAKE_AFTER.toNanos();
                return;
            }
            waiting = result.chunk();
        } catch (SQLException e) {
            if (ChunkQuery.LOCK_NOT_AVAILABLE.equals(e.getSQLState())) {
                // Another session holds a lock on the table: the stream goes on, the chunk waits.
                if (!table.lockWaitLogged) {
                    table.lockWaitLogged = true;
                    log.info("Table {}: another session holds a lock that conflicts with reading it; its snapshot "
                            + "waits (taken again every {} ms) while the stream goes on", table.plan.id(),
                            LOCK_RETRY.toMillis());
                }
                notBeforeNanos = System.nanoTime() + LOCK_RETRY.toNanos();
                return;
            }
            table.lockWaitLogged = false;
            Duration renamed = table.rename != null ? table.rename.waitIfRenamed(e, connections)
                    : leafCopyWaitIfRenamed(table, e);
            if (renamed != null) {
                // Not found under its name, but still there: renamed, maybe only for a moment
                // (TableRename). This entry waits; those queued behind it go on meanwhile.
                table.retryAtNanos = System.nanoTime() + renamed.toNanos();
                return;
            }
            Duration wait = table.failures.failed(e, false, 0);
            if (wait == null) {
                tables.removeFirst();
                if (table.copied != null) {
                    // The leaf is gone too: nothing of it is left to copy (and the slot no longer waits for it).
                    table.copied.run();
                }
            } else {
                notBeforeNanos = System.nanoTime() + wait.toNanos();
            }
        } finally {
            OwnSessions.leave(session);
        }
    }

    /**
     * Kept also while no table is queued: a leaf copy may be asked for at any time, and its first
     * chunk must see what the stream delivered before it as any chunk must. While no chunk is
     * due, the set is emptied of what a current snapshot sees ({@link #forgetSeenTransactions}).
     */
    @Override
    public void transactionBegins(long xid) {
        seen.add(xid);
    }

    /**
     * The first queued entry that is due, moved to the front (where {@link #watermark} finds the
     * chunk's entry); null when every one waits for its table's name. Entries passed over keep
     * their order behind it.
     */
    private TableToCopy firstDue() {
        long now = System.nanoTime();
        for (int i = 0; i < tables.size(); i++) {
            TableToCopy first = tables.peekFirst();
            if (now - first.retryAtNanos >= 0) {
                return first;
            }
            tables.addLast(tables.removeFirst());
        }
        return null;
    }

    /**
     * A leaf's copy that met {@code 42P01}: while the leaf is still a partition, its table was
     * renamed (maybe only for a moment, between two looks), and the copy waits for the name
     * (the slot's hold stays); null when the leaf is gone too (nothing of it is left to copy).
     */
    private Duration leafCopyWaitIfRenamed(TableToCopy copy, SQLException e) {
        if (!SqlErrors.isUndefinedTable(e) || !leafStillAPartition(copy.leaf)) {
            return null;
        }
        if (!copy.renameWaitLogged) {
            copy.renameWaitLogged = true;
            log.warn("Table {}: not found under that name while its partition {} is copied ({}); the copy waits and "
                    + "tries again every {} ms", copy.plan.id(), copy.leaf.leaf(), SqlErrors.describe(e),
                    TableRename.RETRY.toMillis());
        }
        return TableRename.RETRY;
    }

    /** Whether {@code leaf} still exists as a partition (of some table); false when that cannot be read. */
    private boolean leafStillAPartition(LeafCopy leaf) {
        try (Connection connection = connections.open();
             java.sql.PreparedStatement st = connection.prepareStatement("SELECT EXISTS (SELECT 1 FROM"
                     + " pg_catalog.pg_class WHERE oid = CAST(? AS pg_catalog.oid) AND relispartition)")) {
            st.setLong(1, leaf.oid());
            try (java.sql.ResultSet rs = st.executeQuery()) {
                rs.next();
                boolean partition = rs.getBoolean(1);
                connection.rollback();
                return partition;
            }
        } catch (SQLException e) {
            return false;
        }
    }

    /** Forgets the transactions seen that a snapshot taken now sees (every later chunk's sees them too). */
    private void forgetSeenTransactions() {
        try (Connection connection = connections.open();
             java.sql.Statement st = connection.createStatement();
             java.sql.ResultSet rs = st.executeQuery("SELECT pg_catalog.pg_current_snapshot()::text")) {
            rs.next();
            seen.forgetSeenBy(dev.pgkeyset.connect.snapshot.PgSnapshot.parse(rs.getString(1)));
            connection.rollback();
        } catch (SQLException e) {
            log.debug("Could not take a snapshot to forget the transactions seen ({}); tried again later",
                    SqlErrors.describe(e));
        }
    }

    @Override
    public void rowChanged(TablePlan plan, Object[] raw, long xid) {
        if (waiting != null && waiting.table().equals(plan.id()) && !waiting.snapshot().visible(xid)) {
            waiting.drop(plan.position(raw, false));
        }
    }

    @Override
    public void tableTruncated(TablePlan plan, long xid) {
        if (waiting != null && waiting.table().equals(plan.id()) && !waiting.snapshot().visible(xid)) {
            waiting.dropAll();
        }
    }

    @Override
    public Handover watermark(PgOutputMessage.LogicalMessage message) {
        if (waiting == null || !ChunkQuery.WATERMARK_PREFIX.equals(message.prefix())
                || !waiting.watermark().equals(new String(message.content(), java.nio.charset.StandardCharsets.UTF_8))) {
            return null;
        }
        SnapshotChunk chunk = waiting;
        waiting = null;
        TableToCopy table = tables.peekFirst();
        List<SnapshotChunk.Out> rows = new java.util.ArrayList<>(chunk.records());
        if (table.leaf == null) {
            rows.replaceAll(out -> new SnapshotChunk.Out(tableRecords.apply(out.record()), out.bytes(), false));
        }
        table.chunks++;
        table.dropped += chunk.rowsDropped();
        table.rowsHandedOver += rows.size();
        stats.chunkHandedOver(chunk.rowsDropped());
        table.stats.rowsRead(rows.size(), true);
        if (chunk.lastPosition() != null) {
            table.position = chunk.lastPosition();
        }
        if (chunk.more()) {
            table.progress.maybeLog(System.nanoTime());
            return new Handover(rows, null);
        }
        tables.removeFirst();
        if (table.leaf != null) {
            log.info("Table {}: partition {} copied in {} chunk(s), {} row(s) (and {} left out because the stream "
                    + "changed them while their chunk waited for its watermark)", table.plan.id(), table.leaf.leaf(),
                    table.chunks, table.rowsHandedOver, table.dropped);
            return new Handover(rows, table.copied);
        }
        table.stats.snapshotDone();
        table.progress.completed();
        log.info("Table {}: snapshot read in {} chunk(s); {} row(s) left out because the stream changed them "
                + "while their chunk waited for its watermark", table.plan.id(), table.chunks, table.dropped);
        return new Handover(rows, null);
    }

    @Override
    public void streamRestarted() {
        if (waiting != null) {
            log.info("Table {}: the stream restarted while a chunk waited for its watermark; the chunk is read again",
                    waiting.table());
            waiting = null;
            stats.chunkRetaken();
        }
    }

    /** The tables still to snapshot, for logs and tests. */
    public List<TableId> remaining() {
        return tables.stream().map(t -> t.plan.id()).toList();
    }

    @Override
    public void close() {
        tables.clear();
        waiting = null;
    }
}

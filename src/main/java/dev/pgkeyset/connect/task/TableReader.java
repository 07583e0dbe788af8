package dev.pgkeyset.connect.task;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.metrics.PluginMetrics;
import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.changes.query.ChangePhase;
import dev.pgkeyset.connect.offset.KeysetOffset;
import dev.pgkeyset.connect.offset.Phase;
import dev.pgkeyset.connect.pg.Catalog;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.ConnectionFactory;
import dev.pgkeyset.connect.pg.OwnSessions;
import dev.pgkeyset.connect.pg.PgTypeResolver;
import dev.pgkeyset.connect.pg.SqlErrors;
import dev.pgkeyset.connect.pg.TableLocks;
import dev.pgkeyset.connect.query.KeysetQuery;
import dev.pgkeyset.connect.record.ColumnChanges;
import dev.pgkeyset.connect.record.RecordBatch;
import dev.pgkeyset.connect.record.TablePlan;
import dev.pgkeyset.connect.snapshot.SnapshotPhase;

/**
 * Reads one table through server-side cursors, a bounded batch at a time: first its snapshot in
 * key order, then (unless snapshot-only) its changes in (tracking column, key) order. This class
 * runs the cursors and switches between the phases; what each phase reads and what its offsets
 * say is decided by {@link SnapshotPhase} and {@link ChangePhase}.
 *
 * <p>A cursor stays open across {@code poll()} calls, so rows stream in {@code fetch.size} round
 * trips without ever being materialised. It is closed and reopened after the last row read when it
 * gets older than {@code cursor.max.age.ms} (its transaction would otherwise hold back VACUUM),
 * when a DDL waits for the table, and after an error.
 *
 * <p>One row is always read ahead before the previous one is handed over: only then is it known
 * whether that row is the table's last, and the last snapshot row's offset says
 * {@code snapshot_complete}, so a restarted task does not copy a finished table again.
 */
public final class TableReader implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(TableReader.class);

    /** The column types seen so far: looking at the columns before each cursor is then one query. */
    private final PgTypeResolver types = new PgTypeResolver();
    /** Replaced when the table's columns change (see {@link #followSchemaChange}). */
    private TablePlan plan;
    private final ConnectionFactory connections;
    private final ReaderSettings settings;
    private final TableStats stats;
    private final SnapshotPhase snapshot;
    /** Also kept for a snapshot-only table: it holds the changes_from that snapshot offsets carry. */
    private final ChangePhase changes;

    private Phase phase;
    /** Position of the last row read in the current phase's columns; null before the first. */
    private Object[] position;
    /** While no cursor is open: not before this moment (a caught-up or held table waits). */
    private long notBeforeNanos;
    /** Set when the table turned out to be dropped or renamed: nothing more is read from it. */
    private boolean gone;
    /** What a failed read means: wait and reopen, the table is gone, or the task fails. */
    private final ReadFailures failures;
    /** Tells a table renamed away (its reads wait for the name) from one dropped (given up). */
    private final TableRename rename;

    private Connection connection;
    /** This reader's session while it holds {@link #connection}, which no horizon counts as a writer. */
    private String ownSession;
    private PreparedStatement statement;
    private ResultSet cursor;
    private long cursorOpenedNanos;
    /** When waiters for an exclusive lock on the table were last looked for. */
    private long lockCheckedNanos = System.nanoTime();
    private static final long LOCK_CHECK_INTERVAL_NANOS = 1_000_000_000L;
    /** How long a yielding reader stays away, so the waiting DDL takes its lock first. */
    private static final long LOCK_YIELD_NANOS = 200_000_000L;

    /**
     * A row read from the cursor, with the plan it was read with (its columns, should the table
     * change before it is handed over), its position and its estimated size.
     */
    private record ReadRow(Object[] values, TablePlan plan, Object[] position, long bytes) {
    }

    /**
     * The offset of the last record handed to Kafka Connect (at first the committed one). Kafka
     * Connect may commit the offset of a record whose successor is not yet acknowledged; a delete
     * event in record.format=envelope therefore carries this earlier offset and only its tombstone
     * the row's own, so a crash between the two reads the row again rather than losing the tombstone.
     */
    private Map<String, ?> lastOffset;
    /** The row read ahead: read from the cursor, not yet handed to Kafka Connect. */
    private ReadRow pending;
    /** Rows per round trip, learned from their width so that one fetch holds about batch.max.bytes. */
    private final FetchSizer fetchSizer;

    /**
     * @param committed the committed offset as stored (null for none): the offset a delete event
     *                  carries when its tombstone follows before any other record of this reader
     */
    public TableReader(TablePlan plan, ConnectionFactory connections, ReaderSettings settings, KeysetOffset resumeFrom,
                Map<String, ?> committed, PluginMetrics metrics) {
        this.plan = plan;
        this.lastOffset = committed;
        this.connections = connections;
        this.settings = settings;
        // A fetch aimed at more than half the limit where pgjdbc stops it would be stopped again and again.
        this.fetchSizer = new FetchSizer(Math.min(settings.fetchMaxBytes(), Math.max(1, connections.resultBufferLimit() / 2)),
                settings.fetchSize());
        this.stats = new TableStats(plan.estimatedRows());
        this.failures = new ReadFailures(plan.id(), settings.retry());
        this.rename = new TableRename(plan.id());
        this.changes = new ChangePhase(plan, settings.followsChanges(), settings.incrementalStart());
        this.snapshot = new SnapshotPhase(plan.slice(), stats, changes);
        SnapshotPhase.Start start = SnapshotPhase.start(plan, resumeFrom, settings.mode(), changes);
        position = start.position();
        if (start.phase() == Phase.SNAPSHOT_COMPLETE) {
            startChangesOrIdle();
        } else {
            phase = start.phase();
        }
        if (start.resumed()) {
            log.info("Table {}: resuming from the committed offset, phase {}", plan.slice(), phase.wireName());
        }
        if (phase != Phase.SNAPSHOT) {
            stats.snapshotDone();
        }
        stats.register(metrics, plan.slice());
    }

    /** After the snapshot: follow changes from where the change phase starts, or stay idle. */
    private void startChangesOrIdle() {
        position = null;
        if (!settings.followsChanges()) {
            phase = Phase.SNAPSHOT_COMPLETE;
            return;
        }
        phase = Phase.INCREMENTAL;
        notBeforeNanos = System.nanoTime();
        log.info("Table {}: following changes from {}", plan.slice(), changes.describeStart());
    }

    /** True once nothing more will ever be read (a finished snapshot-only table). */
    public boolean finished() {
        return gone || phase == Phase.SNAPSHOT_COMPLETE;
    }

    /**
     * Adds this table's next rows to the batch until it is full or the table has nothing more now.
     *
     * <p>A transient database error ends the call early, keeping the rows already in the batch
     * (thrown away with the batch they would be skipped: the position has moved past them); the
     * table waits out its backoff, then reopens the cursor after the last row read, so nothing is
     * skipped or read twice. Only {@code connection.attempts} failures in a row fail the task.
     */
    public void readInto(RecordBatch batch) {
        if (finished() || (cursor == null && System.nanoTime() < notBeforeNanos)) {
            return;
        }
        long start = System.nanoTime();
        Object[] positionBefore = position;
        int batchSizeBefore = batch.size();
        try {
            fill(batch);
            failures.readSucceeded();
            rename.found();
            stats.batchTook(System.nanoTime() - start);
        } catch (OutOfMemoryError e) {
            closeCursor(false);
            throw failures.outOfMemory(e, fetchSizer.current(), settings.fetchMaxBytes());
        } catch (SQLException e) {
            if (SqlErrors.isResultBufferExceeded(e)) {
                fetchOverLimit(e, batch.size() - batchSizeBefore);
                return;
            }
            closeCursor(false);
            if (SqlErrors.isClientOutOfMemory(e)) {
                throw failures.outOfMemory(e, fetchSizer.current(), settings.fetchMaxBytes());
            }
            // fill() counts its rows when it completes; a failed one hands over those it added too.
            stats.rowsRead(batch.size() - batchSizeBefore, phase == Phase.SNAPSHOT);
            Duration wait = rename.waitIfRenamed(e, connections);
            if (wait == null) {
                wait = failures.failed(e, position != positionBefore, batch.size());
            }
            if (wait == null) {
                gone = true;
            } else {
                notBeforeNanos = System.nanoTime() + wait.toNanos();
            }
        }
    }

    /**
     * pgjdbc stopped a fetch over the connection's maxResultBuffer (rows wider than those its size
     * was learned from) in the middle of a row: the connection is discarded, never pooled again, and
     * the cursor reopens at once after the last row read (the read-ahead row is kept), one row a
     * fetch. A fetch of one row cannot be made smaller: the task fails, saying what to change.
     */
    private void fetchOverLimit(SQLException e, int rowsHandedOver) {
        int fetchRows = fetchSizer.current();
        if (connection != null) {
            connections.discard(connection);
        }
        closeCursor(false);
        stats.rowsRead(rowsHandedOver, phase == Phase.SNAPSHOT);
        if (fetchRows <= 1) {
            throw failures.rowOverLimit(e, position, phase == Phase.INCREMENTAL ? plan.changeColumnNames()
                    : plan.keyColumnNames(), connections.resultBufferLimit());
        }
        failures.fetchOverLimit(fetchRows, connections.resultBufferLimit(), rowsHandedOver);
        fetchSizer.restartAtOneRow();
        notBeforeNanos = System.nanoTime();
    }

    private void fill(RecordBatch batch) throws SQLException {
        if (cursor != null && System.nanoTime() - cursorOpenedNanos > settings.cursorMaxAge().toNanos()) {
            log.info("Table {}: cursor open for more than {} s; reopening it after the last row read",
                    plan.id(), settings.cursorMaxAge().toSeconds());
            closeCursor(true);
        }
        if (cursor != null && yieldsToExclusiveLock()) {
            return;
        }
        if (cursor == null && !openCursor()) {
            return;
        }
        boolean changePhase = phase == Phase.INCREMENTAL;
        int delivered = 0;
        ReadRow lastRow = null;
        boolean ended = false;
        while (true) {
            if (pending == null) {
                if (!readAhead()) {
                    ended = true;
                    break;
                }
                continue;
            }
            if (!batch.fits(pending.bytes())) {
                break;
            }
            ReadRow row = pending;
            boolean more = readAhead();
            SourceRecord record = changePhase ? changes.record(row.plan(), row.values(), row.position())
                    : snapshot.record(row.plan(), row.values(), row.position(), !more);
            SourceRecord tombstone = row.plan().tombstonesAfterDeletes() ? row.plan().tombstoneFollowing(record) : null;
            if (tombstone != null && lastOffset != null) {
                // A soft-deleted row's delete event in record.format=envelope: its tombstone follows
                // and takes the row's offset; the event keeps the one before (see lastOffset).
                record = withOffset(record, lastOffset);
            }
            batch.add(record, row.bytes());
            if (tombstone != null) {
                batch.add(tombstone, 64);
            }
            lastOffset = (tombstone != null ? tombstone : record).sourceOffset();
            delivered++;
            lastRow = row;
            if (!more) {
                ended = true;
                break;
            }
        }
        stats.rowsRead(delivered, !changePhase);
        if (changePhase) {
            if (lastRow != null) {
                changes.trackingEpochMillis(lastRow.plan(), lastRow.values()).ifPresent(stats::lastTrackingValue);
            }
            if (ended) {
                closeCursor(true);
                waitOnePollInterval();
            }
            return;
        }
        snapshot.batchRead(System.nanoTime());
        if (ended) {
            closeCursor(true);
            snapshot.completed();
            stats.snapshotDone();
            startChangesOrIdle();
        }
    }

    /**
     * Reads the next row into the read-ahead slot. On an exception the slot keeps its row, so a
     * failed fetch loses nothing.
     *
     * @return false at the end of the cursor
     */
    private boolean readAhead() throws SQLException {
        int fetchSize = fetchSizer.beforeNext();
        if (fetchSize > 0) {
            // pgjdbc asks for this many rows when this next() has used up the previous fetch.
            cursor.setFetchSize(fetchSize);
        }
        if (!cursor.next()) {
            if (phase == Phase.SNAPSHOT) {
                snapshot.reachedEnd(connection, plan); // before the last row says snapshot_complete
            }
            pending = null;
            return false;
        }
        Object[] row = plan.readRow(cursor);
        Object[] rowPosition = plan.position(row, phase == Phase.INCREMENTAL);
        pending = new ReadRow(row, plan, rowPosition, plan.estimateBytes(row));
        fetchSizer.rowRead(pending.bytes());
        position = rowPosition;
        return true;
    }

    /**
     * Opens the next cursor of the current phase; false when it must wait (no horizon yet: the
     * snapshot's hand-off point or the change phase's bound is not known to be safe).
     */
    private boolean openCursor() throws SQLException {
        connection = connections.open();
        ownSession = OwnSessions.enter(connection);
        rename.remember(connection);
        followSchemaChange();
        KeysetQuery query = phase == Phase.SNAPSHOT ? snapshot.nextQuery(connection, plan, position)
                : changes.nextQuery(connection, plan, position);
        if (query == null) {
            return holdOff(phase == Phase.SNAPSHOT ? "the hand-off point of its snapshot" : "a safe change horizon");
        }
        statement = connection.prepareStatement(query.sql(), ResultSet.TYPE_FORWARD_ONLY, ResultSet.CONCUR_READ_ONLY);
        statement.setFetchSize(fetchSizer.startCursor());
        query.bind(statement);
        cursor = statement.executeQuery();
        cursorOpenedNanos = System.nanoTime();
        stats.cursorOpened();
        if (stats.cursorsOpened() == 1 && phase == Phase.SNAPSHOT) {
            log.info("Table {}: snapshot {} (~{} rows estimated)", plan.slice(),
                    position == null ? "starts" : "resumes", plan.estimatedRows());
        }
        if (log.isDebugEnabled()) {
            log.debug("Table {}: cursor #{}: {} with {}", plan.id(), stats.cursorsOpened(), query.sql(),
                    query.binds());
        }
        return true;
    }

    /**
     * Closes the cursor when an exclusive lock on the table is awaited (checked at most once per
     * {@link #LOCK_CHECK_INTERVAL_NANOS}): DDL then runs within about a second instead of waiting
     * for {@code cursor.max.age.ms} with the application's queries queued behind it. The cursor
     * reopens after the last row read, under the new columns if the DDL changed them.
     */
    private boolean yieldsToExclusiveLock() throws SQLException {
        long now = System.nanoTime();
        if (now - lockCheckedNanos < LOCK_CHECK_INTERVAL_NANOS) {
            return false;
        }
        lockCheckedNanos = now;
        if (!TableLocks.exclusiveLockAwaited(connection, plan.id())) {
            return false;
        }
        log.info("Table {}: another session waits for an exclusive lock on it (DDL?); closing the cursor to let it "
                + "through, reopening after the last row read", plan.id());
        closeCursor(true);
        notBeforeNanos = System.nanoTime() + LOCK_YIELD_NANOS;
        return true;
    }

    /**
     * Compares the table's columns with the plan's before each cursor, so a column added, dropped
     * or retyped since the last one shows in the records from here on, with nothing lost: the
     * position is in key columns, which are still there (else this fails naming the table).
     * Costs one indexed catalog lookup per cursor; in the change phase, one per poll.
     */
    private void followSchemaChange() throws SQLException {
        List<ColumnInfo> current = Catalog.columnsOf(connection, plan.id(), types);
        if (current.equals(plan.columns())) {
            return;
        }
        TablePlan next = plan.withColumns(current);
        log.info("Table {}: columns changed ({}); records from here on carry the new schema", plan.id(),
                ColumnChanges.describe(plan.columns(), current));
        changes.columnsChanged(plan, next);
        plan = next;
    }

    /** Gives the connection back and tries again one poll interval later. */
    private boolean holdOff(String waitingFor) {
        log.debug("Table {}: waiting for {} (open transactions)", plan.id(), waitingFor);
        closeCursor(true);
        waitOnePollInterval();
        return false;
    }

    private void waitOnePollInterval() {
        notBeforeNanos = System.nanoTime() + settings.pollInterval().toNanos();
    }

    /** Ends the cursor's transaction and returns the connection; quiet, since it also runs after failures. */
    private void closeCursor(boolean commit) {
        if (connection == null) {
            return;
        }
        try {
            try {
                if (cursor != null) {
                    cursor.close();
                }
                if (statement != null) {
                    statement.close();
                }
                if (commit) {
                    connection.commit();
                } else {
                    connection.rollback();
                }
            } finally {
                OwnSessions.leave(ownSession);
                ownSession = null;
                connection.close();
            }
        } catch (SQLException e) {
            log.debug("Table {}: closing the cursor failed: {}", plan.id(), SqlErrors.describe(e));
        } finally {
            cursor = null;
            statement = null;
            connection = null;
        }
    }

    /** Nanoseconds until this table has work again; 0 when it has work now, MAX_VALUE when never. */
    public long nanosUntilWork(long nowNanos) {
        if (finished()) {
            return Long.MAX_VALUE;
        }
        return cursor == null ? Math.max(0, notBeforeNanos - nowNanos) : 0;
    }

    @Override
    public void close() {
        closeCursor(false);
    }

    private static SourceRecord withOffset(SourceRecord record, Map<String, ?> offset) {
        return new SourceRecord(record.sourcePartition(), offset, record.topic(), record.kafkaPartition(),
                record.keySchema(), record.key(), record.valueSchema(), record.value(), record.timestamp(),
                record.headers());
    }
}

package dev.pgkeyset.connect.task;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

import org.apache.kafka.common.metrics.PluginMetrics;
import org.apache.kafka.connect.errors.ConnectException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.config.IncrementalStart;
import dev.pgkeyset.connect.config.SnapshotMode;
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
import dev.pgkeyset.connect.record.TablePlan;
import dev.pgkeyset.connect.snapshot.SnapshotProgress;
import dev.pgkeyset.connect.changes.query.ChangeHorizon;
import dev.pgkeyset.connect.record.RecordBatch;
import dev.pgkeyset.connect.record.ColumnChanges;
import dev.pgkeyset.connect.snapshot.NullKeyCheck;

/**
 * Reads one table through server-side cursors, a bounded batch at a time: first its snapshot in
 * key order, then (unless snapshot-only) its changes in (tracking column, key) order.
 *
 * <p>A cursor stays open across {@code poll()} calls, so rows stream in {@code fetch.size} round
 * trips without ever being materialised. It is closed and reopened after the last row read when it
 * gets older than {@code cursor.max.age.ms} (its transaction would otherwise hold back VACUUM) and
 * after an error.
 *
 * <p>One row is always read ahead before the previous one is handed over: only then is it known
 * whether that row is the table's last, and the last snapshot row's offset says
 * {@code snapshot_complete}, so a restarted task does not copy a finished table again.
 *
 * <p>The change phase starts at the horizon taken just before the snapshot began (carried in every
 * snapshot offset as {@code changes_from}): rows written during the snapshot are delivered again
 * by the change phase rather than lost. Each change query reads only up to a fresh
 * {@link ChangeHorizon}, beyond which a transaction still open could commit a row, so a row
 * committed late by a long transaction is never behind the position.
 */
public final class TableReader implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(TableReader.class);

    /** The column types seen so far: looking at the columns before each cursor is then one query. */
    private final PgTypeResolver types = new PgTypeResolver();
    /** Replaced when the table's columns change (see {@link #followSchemaChange}). */
    private TablePlan plan;
    private final ConnectionFactory connections;
    private final ReaderSettings settings;
    private final SnapshotProgress progress;
    private final TableStats stats;

    private Phase phase;
    /** Position of the last row read in the current phase's columns; null before the first. */
    private Object[] position;
    /** Where the change phase starts (inclusive) while no change row was read; null = the smallest value. */
    private String changesFrom;
    /** True while {@link #changesFrom} still has to be taken from the horizon, at the first cursor. */
    private boolean changesFromPending;
    /** Bounds the change queries; null for snapshot-only tables. */
    private ChangeHorizon horizon;
    /** While no cursor is open: not before this moment (a caught-up or held table waits). */
    private long notBeforeNanos;
    /** Set when the table turned out to be dropped or renamed: nothing more is read from it. */
    private boolean gone;
    /** Transient errors in a row; reset by a read that succeeds. */
    private int failures;

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

    /** The row read ahead: read from the cursor, not yet handed to Kafka Connect. */
    private Object[] pendingRow;
    /** The plan the read-ahead row was read with: its columns, should the table change meanwhile. */
    private TablePlan pendingPlan;
    private Object[] pendingPosition;
    private long pendingBytes;
    /** Rows per round trip, learned from their width so that one fetch holds about batch.max.bytes. */
    private final FetchSizer fetchSizer;

    public TableReader(TablePlan plan, ConnectionFactory connections, ReaderSettings settings, KeysetOffset resumeFrom,
                PluginMetrics metrics) {
        this.plan = plan;
        this.connections = connections;
        this.settings = settings;
        this.fetchSizer = new FetchSizer(settings.fetchMaxBytes(), settings.fetchSize());
        this.stats = new TableStats(plan.estimatedRows());
        this.progress = new SnapshotProgress(plan.slice().toString(), stats, System.nanoTime());
        this.horizon = settings.followsChanges() ? plan.newHorizon() : null;
        if (resumeFrom == null) {
            startFresh();
        } else {
            resume(resumeFrom);
        }
        if (phase != Phase.SNAPSHOT) {
            stats.snapshotDone();
        }
        stats.register(metrics, plan.slice());
    }

    private void startFresh() {
        if (settings.mode() == SnapshotMode.NEVER) {
            phase = Phase.INCREMENTAL;
            // A key range exists only for a table whose snapshot began under another mode (a table
            // is never split under snapshot.mode=never): a range with no offset yet was never
            // copied, and "now" would skip its rows for good. It follows its changes from the
            // smallest tracking value instead, which delivers every row of it.
            changesFromPending = settings.incrementalStart() == IncrementalStart.NOW && plan.slice().split() == null;
        } else {
            phase = Phase.SNAPSHOT;
            changesFromPending = settings.followsChanges();
        }
    }

    private void resume(KeysetOffset offset) {
        if (!ownSplit(offset)) {
            startOver(offset);
            return;
        }
        if (offset.phase() == Phase.INCREMENTAL && !settings.followsChanges()) {
            // Switched to snapshot.mode=initial_only after its changes were followed: the copy is
            // done and nothing more is read, so the change position's columns do not matter.
            phase = Phase.SNAPSHOT_COMPLETE;
            log.info("Table {}: snapshot done and changes no longer followed (snapshot.mode=initial_only); idle",
                    plan.slice());
            return;
        }
        List<String> expected = offset.phase() == Phase.INCREMENTAL ? plan.changeColumnNames() : plan.keyColumnNames();
        if (!offset.keyColumns().equals(expected)) {
            throw new ConnectException("The committed offset of table " + plan.id() + " is a position over "
                    + offset.keyColumns() + ", but the table is now read by " + expected + ". Restore the previous "
                    + "key.columns / incremental.columns, or delete the connector's offsets for this table "
                    + "(PATCH/DELETE /connectors/<name>/offsets) to read it again from the start.");
        }
        changesFrom = offset.changesFrom();
        switch (offset.phase()) {
            case SNAPSHOT -> {
                phase = Phase.SNAPSHOT;
                position = offset.key().toArray();
            }
            case SNAPSHOT_COMPLETE -> startChangesOrIdle();
            case INCREMENTAL -> {
                phase = settings.followsChanges() ? Phase.INCREMENTAL : Phase.SNAPSHOT_COMPLETE;
                position = offset.key().toArray();
            }
        }
        log.info("Table {}: resuming from the committed offset, phase {}", plan.slice(), phase.wireName());
    }

    /**
     * True unless this reader reads a key range and the offset is of another split. Range i of
     * one split and range i of another hold different keys but share a source partition, so an
     * offset of another split says nothing about this range: say the old split cut at 100,000
     * and its two ranges stopped at 60,000 and 120,000, while the new split cuts at 75,000 and
     * 150,000; its range 1 (75,000..150,000) resuming after old range 1's 120,000 would skip
     * 75,000..100,000, which old range 0 never reached (and a {@code snapshot_complete} of old
     * range 0 would end new range 0 at once). That happens when a split is decided again before
     * the old split's offsets were committed (see RememberedSplits).
     */
    private boolean ownSplit(KeysetOffset offset) {
        if (plan.slice().split() == null) {
            return true;
        }
        return offset.split() != null && offset.split().json().equals(plan.slice().split().json());
    }

    /**
     * An offset of another split: this range is read as if nothing of it had been delivered.
     * Adopting the offset's position instead is not safe (it is a position in other keys), and
     * the other split's offsets for this range's keys are spread over other partitions, possibly
     * not even committed yet. With a snapshot, the range is copied again from its own lower
     * bound, with the change phase starting at a horizon taken now; duplicates, no loss. Without
     * one (snapshot.mode=never), changes are followed from the smallest tracking value whatever
     * incremental.start says: "now" would skip the changes of these keys the other split's
     * readers had not delivered yet.
     */
    private void startOver(KeysetOffset offset) {
        log.warn("Table {}: its committed offset is of another split of the table ({} ranges, this reader's has "
                + "{}); this range is read again from its start", plan.slice(),
                offset.split() == null ? "none" : offset.split().ranges(), plan.slice().split().ranges());
        if (settings.mode() == SnapshotMode.NEVER) {
            phase = Phase.INCREMENTAL;
            changesFrom = null;
            changesFromPending = false;
        } else {
            startFresh();
        }
    }

    /** After the snapshot: follow changes from {@link #changesFrom}, or stay idle. */
    private void startChangesOrIdle() {
        position = null;
        if (!settings.followsChanges()) {
            phase = Phase.SNAPSHOT_COMPLETE;
            return;
        }
        phase = Phase.INCREMENTAL;
        notBeforeNanos = System.nanoTime();
        log.info("Table {}: following changes from {}", plan.slice(),
                changesFrom == null ? "the smallest tracking value" : "tracking value " + changesFrom);
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
            failures = 0;
            stats.batchTook(System.nanoTime() - start);
        } catch (OutOfMemoryError e) {
            closeCursor(false);
            throw outOfMemory(e);
        } catch (SQLException e) {
            closeCursor(false);
            if (SqlErrors.isClientOutOfMemory(e)) {
                throw outOfMemory(e);
            }
            // fill() counts its rows when it completes; a failed one hands over those it added too.
            stats.rowsRead(batch.size() - batchSizeBefore, phase == Phase.SNAPSHOT);
            if (SqlErrors.isTransient(e) || SqlErrors.isSchemaChange(e)) {
                // In a row means without a row read in between: a table whose reads keep failing
                // part-way (e.g. a statement_timeout cancelling every cursor's n-th fetch) still
                // moves, and is not given up; one that cannot move fails after connection.attempts.
                failures = position != positionBefore ? 1 : failures + 1;
                if (settings.retry().exhausted(failures)) {
                    throw new ConnectException("Reading table " + plan.id() + " failed " + failures + " times in a "
                            + "row (connection.attempts); last error: " + SqlErrors.describe(e), e);
                }
                Duration wait = settings.retry().backoff(failures);
                notBeforeNanos = System.nanoTime() + wait.toNanos();
                log.warn("Table {}: {} (attempt {} of {} failed{}); reopening after the last row read in {} ms",
                        plan.id(), SqlErrors.describe(e), failures, settings.retry().maxAttempts(),
                        batch.isEmpty() ? "" : ", " + batch.size() + " rows already read are handed over",
                        wait.toMillis());
                return;
            }
            if (SqlErrors.isUndefinedTable(e)) {
                gone = true;
                log.warn("Table {} no longer exists (dropped or renamed); it is no longer read, and the connector "
                        + "reconfigures its tasks at the next table discovery: {}", plan.id(), SqlErrors.describe(e));
                return;
            }
            throw new ConnectException("Reading table " + plan.id() + " failed: " + SqlErrors.describe(e), e);
        }
    }

    /**
     * The heap the worker's tasks share ran out while this table was read. Never retried: a retry
     * fills the same heap again, for every task of the worker, {@code connection.attempts} times.
     */
    private ConnectException outOfMemory(Throwable e) {
        return new ConnectException("Reading table " + plan.id() + " ran out of the worker's heap (" + e
                + "; the last fetch asked for " + fetchSizer.current() + " row(s), max heap "
                + Runtime.getRuntime().maxMemory() / (1024 * 1024) + " MiB). A round trip of the cursor holds about "
                + "batch.max.bytes (" + settings.fetchMaxBytes() + "), and so does a poll: lower batch.max.bytes, or "
                // The size of a fetch is learned from the rows before it: narrow rows followed by
                // wide ones make a fetch of fetch.size wide rows, which batch.max.bytes does not cap.
                + "lower fetch.size when that fetch asked for many rows (narrow rows before wide ones), or "
                + "give the worker more heap (KAFKA_HEAP_OPTS=\"-Xmx…\"), which must also hold the widest row a few "
                + "times over. Then restart the task: it resumes from its committed offset.", e);
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
        Object[] lastRow = null;
        TablePlan lastRowPlan = plan;
        boolean ended = false;
        while (true) {
            if (pendingRow == null) {
                if (!readAhead()) {
                    ended = true;
                    break;
                }
                continue;
            }
            if (!batch.fits(pendingBytes)) {
                break;
            }
            Object[] row = pendingRow;
            TablePlan rowPlan = pendingPlan;
            Object[] rowPosition = pendingPosition;
            long bytes = pendingBytes;
            boolean more = readAhead();
            Phase recordPhase = changePhase ? Phase.INCREMENTAL : more ? Phase.SNAPSHOT : Phase.SNAPSHOT_COMPLETE;
            batch.add(rowPlan.toRecord(row, rowPosition, recordPhase, changePhase ? null : changesFrom), bytes);
            delivered++;
            lastRow = row;
            lastRowPlan = rowPlan;
            if (!more) {
                ended = true;
                break;
            }
        }
        stats.rowsRead(delivered, !changePhase);
        if (changePhase) {
            if (lastRow != null) {
                lastRowPlan.trackingEpochMillis(lastRow, horizon.wallClockZone()).ifPresent(stats::lastTrackingValue);
            }
            if (ended) {
                closeCursor(true);
                waitOnePollInterval();
            }
            return;
        }
        progress.maybeLog(System.nanoTime());
        if (ended) {
            closeCursor(true);
            progress.completed();
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
                NullKeyCheck.snapshot(connection, plan); // before the last row says snapshot_complete
            }
            pendingRow = null;
            pendingPosition = null;
            return false;
        }
        Object[] row = plan.readRow(cursor);
        Object[] rowPosition = plan.position(row, phase == Phase.INCREMENTAL);
        pendingRow = row;
        pendingPlan = plan;
        pendingPosition = rowPosition;
        pendingBytes = plan.estimateBytes(row);
        fetchSizer.rowRead(pendingBytes);
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
        followSchemaChange();
        KeysetQuery query;
        if (phase == Phase.SNAPSHOT) {
            if (changesFromPending) {
                // Taken before the snapshot's first row is read: the change phase starts here.
                ChangeHorizon.Bound bound = horizon.current(connection);
                if (bound == null) {
                    return holdOff("the hand-off point of its snapshot");
                }
                changesFrom = bound.value();
                changesFromPending = false;
            }
            if (position == null) {
                NullKeyCheck.snapshot(connection, plan);
            }
            query = plan.snapshotQuery(position == null ? List.of() : Arrays.asList(position));
        } else {
            ChangeHorizon.Bound bound = horizon.current(connection);
            if (bound != null && changesFromPending) {
                changesFrom = bound.value();
                changesFromPending = false;
                log.info("Table {}: following changes from tracking value {} (incremental.start=now)", plan.id(),
                        changesFrom);
            }
            if (bound == null || bound.value() == null || changesFromPending) {
                return holdOff("a safe change horizon");
            }
            NullKeyCheck.changes(connection, plan, position == null ? changesFrom : position[0], bound);
            query = plan.changesQuery(position == null ? List.of() : Arrays.asList(position), changesFrom, bound);
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
        if (horizon != null && !next.sameTracking(plan)) {
            horizon = next.newHorizon();
        }
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
}

package dev.pgkeyset.connect.source;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.RetriableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.offset.KeysetOffset;
import dev.pgkeyset.connect.offset.Phase;
import dev.pgkeyset.connect.pg.ConnectionFactory;
import dev.pgkeyset.connect.pg.SqlErrors;
import dev.pgkeyset.connect.query.KeysetQuery;

/**
 * Snapshots one table through a server-side cursor in key order, a bounded batch at a time.
 *
 * <p>The cursor stays open across {@code poll()} calls, so rows stream in {@code fetch.size}
 * round trips without ever being materialised. It is closed and reopened after the last key read
 * when it gets older than {@code cursor.max.age.ms} (its transaction would otherwise hold back
 * VACUUM) and after an error.
 *
 * <p>One row is always read ahead before the previous one is handed over: only then is it known
 * whether that row is the table's last, and the last row's offset says {@code snapshot_complete},
 * so a restarted task does not read a finished table again.
 */
final class TableReader implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(TableReader.class);

    private final TablePlan plan;
    private final ConnectionFactory connections;
    private final int fetchSize;
    private final long cursorMaxAgeNanos;
    private final SnapshotProgress progress;

    /** Key of the last row read from a cursor; null before the first. A reopened cursor starts after it. */
    private Object[] readPosition;
    private boolean complete;

    private Connection connection;
    private PreparedStatement statement;
    private ResultSet cursor;
    private long cursorOpenedNanos;
    private int cursorsOpened;

    /** The row read ahead: read from the cursor, not yet handed to Kafka Connect. */
    private Object[] pendingRow;
    private Object[] pendingPosition;
    private long pendingBytes;

    TableReader(TablePlan plan, ConnectionFactory connections, int fetchSize, Duration cursorMaxAge,
                KeysetOffset resumeFrom) {
        this.plan = plan;
        this.connections = connections;
        this.fetchSize = fetchSize;
        this.cursorMaxAgeNanos = cursorMaxAge.toNanos();
        this.progress = new SnapshotProgress(plan.id(), plan.estimatedRows(), System.nanoTime());
        if (resumeFrom != null) {
            if (!resumeFrom.keyColumns().equals(plan.keyColumnNames())) {
                throw new ConnectException("The committed offset of table " + plan.id() + " is a position over key "
                        + resumeFrom.keyColumns() + ", but the table is now read by key " + plan.keyColumnNames()
                        + ". Restore the previous key.columns, or delete the connector's offsets for this table "
                        + "(PATCH/DELETE /connectors/<name>/offsets) to snapshot it again.");
            }
            this.complete = resumeFrom.snapshotComplete();
            this.readPosition = resumeFrom.key().toArray();
            log.info("Table {}: {} (committed offset found)", plan.id(),
                    complete ? "snapshot already complete, not read again" : "snapshot resumes after the committed key");
        }
    }

    TablePlan plan() {
        return plan;
    }

    boolean complete() {
        return complete;
    }

    /**
     * Adds this table's next rows to the batch until it is full or the table ends.
     *
     * <p>A transient database error ends the call early: with rows in the batch it returns them,
     * otherwise it throws {@link RetriableException}; either way the next call reopens the cursor
     * after the last row read, so nothing is skipped or read twice.
     */
    void readInto(RecordBatch batch) {
        if (complete) {
            return;
        }
        try {
            fill(batch);
        } catch (SQLException e) {
            closeCursor(false);
            if (SqlErrors.isTransient(e)) {
                if (!batch.isEmpty()) {
                    // Rows already in the batch were read and must leave now: thrown away with the
                    // batch, they would be skipped, since the position has moved past them.
                    log.warn("Table {}: reading failed after {} rows of this batch; handing those over, the cursor "
                            + "reopens after the last key read on the next poll: {}", plan.id(), batch.size(),
                            SqlErrors.describe(e));
                    return;
                }
                throw new RetriableException("Reading table " + plan.id() + " failed; the cursor will be reopened "
                        + "after the last key read: " + SqlErrors.describe(e), e);
            }
            throw new ConnectException("Reading table " + plan.id() + " failed: " + SqlErrors.describe(e), e);
        }
    }

    private void fill(RecordBatch batch) throws SQLException {
        if (cursor != null && System.nanoTime() - cursorOpenedNanos > cursorMaxAgeNanos) {
            log.info("Table {}: cursor open for more than {} s; reopening it after the last key read",
                    plan.id(), Duration.ofNanos(cursorMaxAgeNanos).toSeconds());
            closeCursor(true);
        }
        if (cursor == null) {
            openCursor();
        }
        int delivered = 0;
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
            Object[] position = pendingPosition;
            long bytes = pendingBytes;
            boolean more = readAhead();
            batch.add(plan.toRecord(row, position, more ? Phase.SNAPSHOT : Phase.SNAPSHOT_COMPLETE), bytes);
            delivered++;
            if (!more) {
                ended = true;
                break;
            }
        }
        progress.rowsDelivered(delivered, System.nanoTime());
        if (ended) {
            finish();
        }
    }

    /**
     * Reads the next row into the read-ahead slot. On an exception the slot keeps its row, so a
     * failed fetch loses nothing.
     *
     * @return false at the end of the table
     */
    private boolean readAhead() throws SQLException {
        if (!cursor.next()) {
            pendingRow = null;
            pendingPosition = null;
            return false;
        }
        Object[] row = plan.readRow(cursor);
        Object[] position = plan.keyPosition(row);
        pendingRow = row;
        pendingPosition = position;
        pendingBytes = plan.estimateBytes(row);
        readPosition = position;
        return true;
    }

    private void finish() {
        complete = true;
        closeCursor(true);
        progress.completed(System.nanoTime());
    }

    private void openCursor() throws SQLException {
        KeysetQuery query = plan.snapshotQuery(readPosition == null ? List.of() : Arrays.asList(readPosition));
        connection = connections.open();
        statement = connection.prepareStatement(query.sql(), ResultSet.TYPE_FORWARD_ONLY, ResultSet.CONCUR_READ_ONLY);
        statement.setFetchSize(fetchSize);
        query.bind(statement);
        cursor = statement.executeQuery();
        cursorOpenedNanos = System.nanoTime();
        cursorsOpened++;
        if (cursorsOpened == 1) {
            log.info("Table {}: snapshot {} (~{} rows estimated)", plan.id(),
                    readPosition == null ? "starts" : "resumes", plan.estimatedRows());
        }
        if (log.isDebugEnabled()) {
            log.debug("Table {}: cursor #{}: {} with {}", plan.id(), cursorsOpened, query.sql(), query.binds());
        }
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

    long rowsDelivered() {
        return progress.rows();
    }

    @Override
    public void close() {
        closeCursor(false);
    }
}

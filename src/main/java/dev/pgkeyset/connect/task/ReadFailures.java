package dev.pgkeyset.connect.task;

import java.sql.SQLException;
import java.time.Duration;
import java.util.List;

import org.apache.kafka.connect.errors.ConnectException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.pg.SqlErrors;
import dev.pgkeyset.connect.pg.TableId;

/**
 * What a failed read of one table means for its reader, which has already closed the cursor:
 * a transient error, or a schema change under the cursor, is waited out (backoff of
 * {@link RetryPolicy}) and the cursor reopens after the last row read, so nothing is skipped or
 * read twice; a table dropped or renamed is no longer read; anything else fails the task, naming
 * the table.
 */
final class ReadFailures {

    private static final Logger log = LoggerFactory.getLogger(ReadFailures.class);

    private final TableId table;
    private final RetryPolicy retry;
    /** Transient errors in a row; reset by a read that succeeds. */
    private int inARow;

    ReadFailures(TableId table, RetryPolicy retry) {
        this.table = table;
        this.retry = retry;
    }

    void readSucceeded() {
        inARow = 0;
    }

    /**
     * @param moved         whether a row was read since the last failure
     * @param rowsHandedOver the rows already in the batch, which go out despite the failure
     * @return how long to wait before reopening the cursor, or null when the table no longer
     *         exists (it is not read again)
     * @throws ConnectException when the task must fail: not transient, or {@code connection.attempts}
     *         failures in a row
     */
    Duration failed(SQLException e, boolean moved, int rowsHandedOver) {
        if (SqlErrors.isTransient(e) || SqlErrors.isSchemaChange(e)) {
            // In a row means without a row read in between: a table whose reads keep failing
            // part-way (e.g. a statement_timeout cancelling every cursor's n-th fetch) still
            // moves, and is not given up; one that cannot move fails after connection.attempts.
            inARow = moved ? 1 : inARow + 1;
            if (retry.exhausted(inARow)) {
                throw new ConnectException("Reading table " + table + " failed " + inARow + " times in a "
                        + "row (connection.attempts); last error: " + SqlErrors.describe(e), e);
            }
            Duration wait = retry.backoff(inARow);
            log.warn("Table {}: {} (attempt {} of {} failed{}); reopening after the last row read in {} ms",
                    table, SqlErrors.describe(e), inARow, retry.maxAttempts(),
                    rowsHandedOver == 0 ? "" : ", " + rowsHandedOver + " rows already read are handed over",
                    wait.toMillis());
            return wait;
        }
        if (SqlErrors.isUndefinedTable(e)) {
            log.warn("Table {} no longer exists (dropped or renamed); it is no longer read, and the connector "
                    + "reconfigures its tasks at the next table discovery: {}", table, SqlErrors.describe(e));
            return null;
        }
        throw new ConnectException("Reading table " + table + " failed: " + SqlErrors.describe(e), e);
    }

    /** A fetch of {@code fetchRows} rows passed the connection's maxResultBuffer; it is read again from one row. */
    void fetchOverLimit(int fetchRows, long limitBytes, int rowsHandedOver) {
        log.info("Table {}: a fetch of {} rows passed {} bytes (maxResultBuffer, a quarter of the heap): wider rows "
                + "than those before them; the connection is discarded and the cursor reopens after the last row read, "
                + "fetching one row, then more as their width allows{}", table, fetchRows, limitBytes,
                rowsHandedOver == 0 ? "" : " (" + rowsHandedOver + " rows already read are handed over)");
    }

    /**
     * A single row is larger than what one fetch may hold: no fetch size reads it. Not retried: it
     * would fail the same way.
     *
     * @param after       the position of the last row read (null before the first), whose columns are {@code columns}
     */
    ConnectException rowOverLimit(SQLException e, Object[] after, List<String> columns, long limitBytes) {
        return new ConnectException("Reading table " + table + " failed: the row after " + describe(columns, after)
                + " is larger than the most one fetch may hold (maxResultBuffer: " + limitBytes + " bytes, a quarter of "
                + "the worker's max heap of " + Runtime.getRuntime().maxMemory() / (1024 * 1024) + " MiB, unless "
                + "connection.url sets it; batch.max.bytes and fetch.size do not change it). Give the worker more heap "
                + "(KAFKA_HEAP_OPTS=\"-Xmx…\"): it must hold that row about four times over, then restart the task; it "
                + "resumes from its committed offset. (" + SqlErrors.describe(e) + ")", e);
    }

    /** {@code (id, part)=(42, 7)}, each value cut at 100 characters; "the start of the table" before the first row. */
    static String describe(List<String> columns, Object[] position) {
        if (position == null) {
            return "the start of the table (no row read yet)";
        }
        StringBuilder values = new StringBuilder();
        for (int i = 0; i < position.length; i++) {
            String value = position[i] instanceof byte[] bytes ? "\\x" + java.util.HexFormat.of().formatHex(bytes)
                    : String.valueOf(position[i]);
            values.append(i == 0 ? "" : ", ").append(value.length() > 100 ? value.substring(0, 100) + "…" : value);
        }
        return "(" + String.join(", ", columns) + ")=(" + values + ")";
    }

    /**
     * The heap the worker's tasks share ran out while this table was read. Never retried: a retry
     * fills the same heap again, for every task of the worker, {@code connection.attempts} times.
     *
     * @param fetchRows     the rows the last fetch asked for
     * @param fetchMaxBytes what a round trip of the cursor may hold (batch.max.bytes)
     */
    ConnectException outOfMemory(Throwable e, int fetchRows, long fetchMaxBytes) {
        return new ConnectException("Reading table " + table + " ran out of the worker's heap (" + e
                + "; the last fetch asked for " + fetchRows + " row(s), max heap "
                + Runtime.getRuntime().maxMemory() / (1024 * 1024) + " MiB). A round trip of the cursor holds about "
                + "batch.max.bytes (" + fetchMaxBytes + "), and so does a poll: lower batch.max.bytes, or "
                // The size of a fetch is learned from the rows before it: narrow rows followed by
                // wide ones make a fetch of fetch.size wide rows, which batch.max.bytes does not cap.
                + "lower fetch.size when that fetch asked for many rows (narrow rows before wide ones), or "
                + "give the worker more heap (KAFKA_HEAP_OPTS=\"-Xmx…\"), which must also hold the widest row a few "
                + "times over. Then restart the task: it resumes from its committed offset.", e);
    }
}

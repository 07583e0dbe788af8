package dev.pgkeyset.connect.source;

import java.time.Duration;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.pg.TableId;

/**
 * Logs a table's snapshot progress at info every {@link #INTERVAL}: rows, share of the
 * planner's row estimate ({@code pg_class.reltuples}), rate and time left.
 */
final class SnapshotProgress {

    private static final Logger log = LoggerFactory.getLogger(SnapshotProgress.class);
    static final Duration INTERVAL = Duration.ofSeconds(10);

    private final TableId table;
    private final long estimatedRows;
    private final long startNanos;
    private long rows;
    private long nextLogNanos;

    SnapshotProgress(TableId table, long estimatedRows, long nowNanos) {
        this.table = table;
        this.estimatedRows = estimatedRows;
        this.startNanos = nowNanos;
        this.nextLogNanos = nowNanos + INTERVAL.toNanos();
    }

    void rowsDelivered(int count, long nowNanos) {
        rows += count;
        if (nowNanos >= nextLogNanos) {
            nextLogNanos = nowNanos + INTERVAL.toNanos();
            log.info("Snapshot of {}: {}", table, describe(nowNanos));
        }
    }

    void completed(long nowNanos) {
        double seconds = Math.max(1, nowNanos - startNanos) / 1e9;
        log.info("Snapshot of {} complete: {} rows in {} s ({} rows/s)", table, rows,
                String.format("%.1f", seconds), Math.round(rows / seconds));
    }

    String describe(long nowNanos) {
        double seconds = Math.max(1, nowNanos - startNanos) / 1e9;
        double rate = rows / seconds;
        StringBuilder line = new StringBuilder().append(rows).append(" rows");
        if (estimatedRows > 0) {
            double share = Math.min(100.0, 100.0 * rows / estimatedRows);
            line.append(String.format(" of ~%d (%.1f%%)", estimatedRows, share));
        }
        line.append(String.format(", %d rows/s", Math.round(rate)));
        if (estimatedRows > rows && rate > 0) {
            line.append(String.format(", ETA %d s", Math.round((estimatedRows - rows) / rate)));
        }
        return line.toString();
    }
}

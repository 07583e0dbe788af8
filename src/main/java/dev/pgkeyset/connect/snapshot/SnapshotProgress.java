package dev.pgkeyset.connect.snapshot;

import java.time.Duration;
import java.util.Locale;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import dev.pgkeyset.connect.task.TableStats;


/**
 * Logs a table's snapshot progress at info every {@link #INTERVAL}: rows, share of the planner's
 * row estimate ({@code pg_class.reltuples}), rate and time left — the figures {@link TableStats}
 * also publishes as metrics.
 */
public final class SnapshotProgress {

    private static final Logger log = LoggerFactory.getLogger(SnapshotProgress.class);
    static final Duration INTERVAL = Duration.ofSeconds(10);

    /** The table, or table and key range, as logged. */
    private final String table;
    private final TableStats stats;
    private long nextLogNanos;

    public SnapshotProgress(String table, TableStats stats, long nowNanos) {
        this.table = table;
        this.stats = stats;
        this.nextLogNanos = nowNanos + INTERVAL.toNanos();
    }

    public void maybeLog(long nowNanos) {
        if (nowNanos >= nextLogNanos) {
            nextLogNanos = nowNanos + INTERVAL.toNanos();
            log.info("Snapshot of {}: {}", table, describe());
        }
    }

    public void completed() {
        log.info("Snapshot of {} complete: {} rows in {} s ({} rows/s)", table, stats.snapshotRows(),
                String.format(Locale.ROOT, "%.1f", stats.secondsSinceStart()),
                Math.round(stats.snapshotRowsPerSecond()));
    }

    private String describe() {
        StringBuilder line = new StringBuilder().append(stats.snapshotRows()).append(" rows");
        if (stats.estimatedRows() > 0) {
            line.append(String.format(Locale.ROOT, " of ~%d (%.1f%%)", stats.estimatedRows(), stats.snapshotPercent()));
        }
        line.append(String.format(Locale.ROOT, ", %d rows/s", Math.round(stats.snapshotRowsPerSecond())));
        double eta = stats.snapshotEtaSeconds();
        if (eta > 0) {
            line.append(String.format(Locale.ROOT, ", ETA %d s", Math.round(eta)));
        }
        return line.toString();
    }
}

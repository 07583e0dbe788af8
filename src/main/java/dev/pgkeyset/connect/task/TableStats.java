package dev.pgkeyset.connect.task;

import java.util.LinkedHashMap;

import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.metrics.Gauge;
import org.apache.kafka.common.metrics.PluginMetrics;

import dev.pgkeyset.connect.config.TableSlice;

/**
 * What a table reader has done, kept as plain counters on the poll thread and published through
 * Kafka Connect's plugin metrics (KIP-877), so they appear in JMX beside the worker's own task
 * metrics, tagged with the table.
 */
public final class TableStats {

    private final long estimatedRows;
    private final long startNanos = System.nanoTime();
    private volatile long rowsRead;
    private volatile long snapshotRows;
    private volatile long cursorsOpened;
    private volatile long lastBatchNanos;
    private volatile long lastTrackingMillis = -1;
    private volatile boolean snapshotDone;

    TableStats(long estimatedRows) {
        this.estimatedRows = estimatedRows;
    }

    void rowsRead(int rows, boolean snapshot) {
        rowsRead += rows;
        if (snapshot) {
            snapshotRows += rows;
        }
    }

    void cursorOpened() {
        cursorsOpened++;
    }

    void batchTook(long nanos) {
        lastBatchNanos = nanos;
    }

    void snapshotDone() {
        snapshotDone = true;
    }

    void lastTrackingValue(long epochMillis) {
        lastTrackingMillis = epochMillis;
    }

    public double snapshotPercent() {
        if (snapshotDone) {
            return 100.0;
        }
        // Rows inserted meanwhile (or a stale reltuples) can take the count past the estimate: 100 means done.
        return estimatedRows <= 0 ? 0.0 : Math.min(99.9, 100.0 * snapshotRows / estimatedRows);
    }

    public double snapshotEtaSeconds() {
        if (snapshotDone || snapshotRows == 0 || estimatedRows <= snapshotRows) {
            return 0.0;
        }
        return (estimatedRows - snapshotRows) / snapshotRowsPerSecond();
    }

    public double secondsSinceStart() {
        return Math.max(1, System.nanoTime() - startNanos) / 1e9;
    }

    public double snapshotRowsPerSecond() {
        return snapshotRows / secondsSinceStart();
    }

    public long snapshotRows() {
        return snapshotRows;
    }

    public long estimatedRows() {
        return estimatedRows;
    }

    long cursorsOpened() {
        return cursorsOpened;
    }

    /** Registers the gauges; {@code metrics} may be null (a worker older than Kafka 4.1, or a test harness). */
    void register(PluginMetrics metrics, TableSlice slice) {
        if (metrics == null) {
            return;
        }
        LinkedHashMap<String, String> tags = new LinkedHashMap<>();
        tags.put("table", slice.table().canonical());
        if (slice.part() == TableSlice.Part.RANGE) {
            // One reader per key range of a split table: each has its own gauges.
            tags.put("range", Integer.toString(slice.range()));
        }
        add(metrics, "rows-read-total", "Rows handed to Kafka Connect", tags, (Gauge<Long>) (c, now) -> rowsRead);
        add(metrics, "snapshot-progress-percent", "Share of the table's estimated rows copied", tags,
                (Gauge<Double>) (c, now) -> snapshotPercent());
        add(metrics, "snapshot-eta-seconds", "Estimated seconds until the snapshot ends", tags,
                (Gauge<Double>) (c, now) -> snapshotEtaSeconds());
        add(metrics, "cursor-openings-total", "Server-side cursors opened (first, aged out, after errors)", tags,
                (Gauge<Long>) (c, now) -> cursorsOpened);
        add(metrics, "batch-read-time-ms", "Time the last poll spent reading this table", tags,
                (Gauge<Double>) (c, now) -> lastBatchNanos / 1e6);
        add(metrics, "change-lag-ms", "Now minus the tracking value of the last change delivered (clock columns;"
                + " -1 before the first)", tags,
                (Gauge<Long>) (c, now) -> lastTrackingMillis < 0 ? -1L : Math.max(0L, now - lastTrackingMillis));
    }

    private static void add(PluginMetrics metrics, String name, String description,
                            LinkedHashMap<String, String> tags, Gauge<?> gauge) {
        MetricName metricName = metrics.metricName(name, description, tags);
        metrics.addMetric(metricName, gauge);
    }
}

package dev.pgkeyset.connect.changes.wal;

import java.util.LinkedHashMap;

import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.metrics.Gauge;
import org.apache.kafka.common.metrics.PluginMetrics;

/**
 * What the WAL stream has done, published through Kafka Connect's plugin metrics (KIP-877) like
 * the tables' {@code TableStats}, tagged with the slot: changes decoded, replication lag in bytes
 * (the server's current WAL position minus what was received) and in milliseconds (now minus the
 * commit time of the last transaction read), and the WAL the slot retains. The positions are
 * sampled on a normal connection at most every few seconds ({@link #sample}).
 */
public final class WalStats {

    /** PostgreSQL's epoch (2000-01-01 UTC) in Unix milliseconds. */
    private static final long PG_EPOCH_MILLIS = 946_684_800_000L;

    private volatile long decoded;
    private volatile long lastCommitMillis = -1;
    private volatile long lagBytes = -1;
    private volatile long retainedBytes = -1;
    private volatile long chunks;
    private volatile long chunksRetaken;
    private volatile long chunkRowsDropped;

    void decoded() {
        decoded++;
    }

    void committed(long commitTimeMicros) {
        lastCommitMillis = PG_EPOCH_MILLIS + commitTimeMicros / 1000;
    }

    /** A snapshot chunk's rows joined the stream; {@code dropped} were left out (the stream changed them). */
    public void chunkHandedOver(int dropped) {
        chunks++;
        chunkRowsDropped += dropped;
    }

    /** A snapshot chunk was given up before its watermark and will be taken again. */
    public void chunkRetaken() {
        chunksRetaken++;
    }

    public long changesDecoded() {
        return decoded;
    }

    /** From a sample of the server's positions: {@code pg_current_wal_lsn()} and the slot's {@code restart_lsn}. */
    public void sample(long currentLsn, long receivedLsn, long restartLsn) {
        lagBytes = receivedLsn == 0 ? -1 : Math.max(0, currentLsn - receivedLsn);
        retainedBytes = restartLsn == 0 ? -1 : Math.max(0, currentLsn - restartLsn);
    }

    public long lagMillis(long nowMillis) {
        return lastCommitMillis < 0 ? -1 : Math.max(0, nowMillis - lastCommitMillis);
    }

    /** Registers the gauges; {@code metrics} may be null (a worker older than Kafka 4.1, or a test harness). */
    public void register(PluginMetrics metrics, String slot) {
        if (metrics == null) {
            return;
        }
        LinkedHashMap<String, String> tags = new LinkedHashMap<>();
        tags.put("slot", slot);
        add(metrics, "wal-changes-decoded-total", "Inserts, updates, deletes and truncates decoded from the WAL",
                tags, (Gauge<Long>) (c, now) -> decoded);
        add(metrics, "wal-lag-bytes", "The server's current WAL position minus the position received (-1 before "
                + "the first sample)", tags, (Gauge<Long>) (c, now) -> lagBytes);
        add(metrics, "wal-lag-ms", "Now minus the commit time of the last transaction read (-1 before the first)",
                tags, (Gauge<Long>) (c, now) -> lagMillis(now));
        add(metrics, "slot-retained-wal-bytes", "WAL the slot keeps the server from recycling: current position "
                + "minus the slot's restart_lsn (-1 before the first sample)", tags,
                (Gauge<Long>) (c, now) -> retainedBytes);
        add(metrics, "snapshot-chunks-total", "Snapshot chunks whose rows joined the stream at their watermark",
                tags, (Gauge<Long>) (c, now) -> chunks);
        add(metrics, "snapshot-chunk-rows-dropped-total", "Rows left out of snapshot chunks because the stream "
                + "changed them while their chunk waited for its watermark", tags,
                (Gauge<Long>) (c, now) -> chunkRowsDropped);
        add(metrics, "snapshot-chunks-retaken-total", "Snapshot chunks given up (a transaction the stream had "
                + "delivered was still running in the chunk's snapshot, or the stream restarted) and read again",
                tags, (Gauge<Long>) (c, now) -> chunksRetaken);
    }

    private static void add(PluginMetrics metrics, String name, String description,
                            LinkedHashMap<String, String> tags, Gauge<?> gauge) {
        MetricName metricName = metrics.metricName(name, description, tags);
        metrics.addMetric(metricName, gauge);
    }
}

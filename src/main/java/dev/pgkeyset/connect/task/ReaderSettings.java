package dev.pgkeyset.connect.task;

import java.time.Duration;

import dev.pgkeyset.connect.config.IncrementalStart;
import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.config.SnapshotMode;

/**
 * The settings every table reader of a task shares.
 *
 * @param fetchMaxBytes what one round trip of a cursor may hold ({@link FetchSizer}): batch.max.bytes
 */
public record ReaderSettings(int fetchSize, long fetchMaxBytes, Duration cursorMaxAge, Duration pollInterval, SnapshotMode mode,
                      IncrementalStart incrementalStart, RetryPolicy retry) {

    public static ReaderSettings of(PgKeysetConfig config) {
        return new ReaderSettings(config.fetchSize(), config.batchMaxBytes(), config.cursorMaxAge(), config.pollInterval(),
                snapshotReaderMode(config), config.incrementalStart(),
                RetryPolicy.of(config));
    }

    /**
     * In capture.mode=wal the table readers only snapshot (changes come from the WAL): they run as
     * under snapshot.mode=initial_only and go idle at snapshot_complete.
     */
    private static SnapshotMode snapshotReaderMode(PgKeysetConfig config) {
        return config.captureMode() == dev.pgkeyset.connect.config.CaptureMode.WAL ? SnapshotMode.INITIAL_ONLY
                : config.snapshotMode();
    }

    boolean followsChanges() {
        return mode != SnapshotMode.INITIAL_ONLY;
    }
}

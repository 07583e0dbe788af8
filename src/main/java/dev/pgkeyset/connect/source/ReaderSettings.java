package dev.pgkeyset.connect.source;

import java.time.Duration;

import dev.pgkeyset.connect.config.IncrementalStart;
import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.config.SnapshotMode;

/** The settings every table reader of a task shares. */
record ReaderSettings(int fetchSize, Duration cursorMaxAge, Duration pollInterval, SnapshotMode mode,
                      IncrementalStart incrementalStart) {

    static ReaderSettings of(PgKeysetConfig config) {
        return new ReaderSettings(config.fetchSize(), config.cursorMaxAge(), config.pollInterval(),
                config.snapshotMode(), config.incrementalStart());
    }

    boolean followsChanges() {
        return mode != SnapshotMode.INITIAL_ONLY;
    }
}

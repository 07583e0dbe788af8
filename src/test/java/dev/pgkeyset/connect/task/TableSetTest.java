package dev.pgkeyset.connect.task;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.config.PgKeysetConfig;

/** What the "all snapshotted" log line says comes next, per capture and snapshot mode. */
class TableSetTest {

    private static PgKeysetConfig config(String captureMode, String snapshotMode) {
        Map<String, String> props = new HashMap<>(Map.of("connection.url", "jdbc:postgresql://localhost/db",
                "topic.prefix", "p", "capture.mode", captureMode, "snapshot.mode", snapshotMode,
                "slot.name", "my_slot", "table.include.list", "public\\.t"));
        return new PgKeysetConfig(props);
    }

    @Test
    void theQueryModeIdlesAfterAnInitialOnlySnapshot() {
        assertEquals("idle (snapshot.mode=initial_only)", TableSet.afterSnapshots(config("query", "initial_only")));
    }

    @Test
    void theWalModeStreamsTheSlotNextUnlessInitialOnly() {
        assertEquals("streaming changes from slot 'my_slot' next (capture.mode=wal)",
                TableSet.afterSnapshots(config("wal", "initial")));
        assertEquals("idle (snapshot.mode=initial_only: capture.mode=wal then uses no slot and streams nothing)",
                TableSet.afterSnapshots(config("wal", "initial_only")));
    }
}

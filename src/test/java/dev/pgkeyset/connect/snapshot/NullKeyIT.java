package dev.pgkeyset.connect.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.storage.OffsetStorageReader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.config.TableSlice;
import dev.pgkeyset.connect.offset.KeySplit;
import dev.pgkeyset.connect.pg.Catalog;
import dev.pgkeyset.connect.pg.ConnectionFactory;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.pg.TableInfo;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.task.TableSet;

/**
 * A NULL key value stops the task, naming the table and the column, wherever it is: behind a
 * resumed cursor, in no key range (every range's bounds exclude it), inserted during the snapshot,
 * or written while changes are followed, where {@code (tracking, key) > (…)} and the range bounds
 * pass over it. Never does a NULL key row go missing without a word.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NullKeyIT {

    private TestDatabase db;

    @BeforeAll
    void setUp() {
        db = PostgresFixture.createDatabase("null_key");
        db.execute("CREATE TABLE four (k int UNIQUE, rid int)",
                "INSERT INTO four VALUES (1, 1), (2, 2), (NULL, 3), (3, 4)",
                "CREATE TABLE later (k int UNIQUE, rid int)",
                "INSERT INTO later SELECT g, g FROM generate_series(1, 10) g",
                "CREATE TABLE ranged (k int UNIQUE, rid int)",
                "INSERT INTO ranged SELECT g, g FROM generate_series(1, 1000) g",
                "INSERT INTO ranged VALUES (NULL, 0)",
                "CREATE TABLE followed (k int UNIQUE, updated_at timestamptz NOT NULL DEFAULT now())",
                "CREATE INDEX ON followed (updated_at, k)",
                "INSERT INTO followed (k) SELECT g FROM generate_series(1, 100) g",
                "CREATE TABLE tied (k int UNIQUE, updated_at timestamptz NOT NULL DEFAULT now())",
                "CREATE INDEX ON tied (updated_at, k)",
                "INSERT INTO tied (k) SELECT g FROM generate_series(1, 10) g");
    }

    @AfterAll
    void tearDown() {
        if (db != null) {
            db.close();
        }
    }

    private Map<String, String> props(String table) {
        Map<String, String> props = db.connectorConfig("n", "public\\." + table);
        props.put("key.columns", "public." + table + ":k");
        props.put("poll.interval.ms", "10");
        return props;
    }

    private static void assertNamesTheNullKey(ConnectException e, String table) {
        assertTrue(e.getMessage().contains("public." + table) && e.getMessage().contains("'k'")
                && e.getMessage().contains("NOT NULL"), e.getMessage());
    }

    /** Polls with a restart after each poll until the task fails; returns what was delivered first. */
    private static ConnectException readWithRestartsUntilItFails(TaskHarness harness, List<SourceRecord> delivered,
                                                                 Runnable afterFirstPoll) {
        return assertThrows(ConnectException.class, () -> {
            for (int poll = 0; poll < 30; poll++) {
                List<SourceRecord> batch = harness.poll();
                if (batch != null) {
                    delivered.addAll(batch);
                }
                if (poll == 0) {
                    afterFirstPoll.run();
                }
                harness.stop();
                harness.start();
            }
        }, () -> "no failure; delivered " + delivered.size() + " rows");
    }

    @Test
    void aNullKeyBehindAResumedCursorStopsTheTask() {
        Map<String, String> props = props("four");
        props.put("batch.max.rows", "1");
        List<SourceRecord> delivered = new ArrayList<>();
        try (TaskHarness harness = new TaskHarness(props).start()) {
            assertNamesTheNullKey(readWithRestartsUntilItFails(harness, delivered, () -> { }), "four");
        }
    }

    @Test
    void aNullKeyInsertedDuringTheSnapshotStopsItBeforeItCompletes() {
        Map<String, String> props = props("later");
        props.put("batch.max.rows", "2");
        List<SourceRecord> delivered = new ArrayList<>();
        try (TaskHarness harness = new TaskHarness(props).start()) {
            ConnectException e = readWithRestartsUntilItFails(harness, delivered,
                    () -> db.execute("INSERT INTO later VALUES (NULL, 0)"));
            assertNamesTheNullKey(e, "later");
        }
        assertTrue(delivered.stream().noneMatch(r -> "snapshot_complete".equals(r.sourceOffset().get("phase"))),
                "the snapshot is never said complete");
    }

    private TableSet rangesOf(String table, Map<String, String> props, KeySplit split) throws Exception {
        PgKeysetConfig config = new PgKeysetConfig(props);
        TableId id = new TableId("public", table);
        List<TableInfo> infos;
        try (Connection c = db.connect()) {
            infos = Catalog.tables(c, id::equals);
        }
        List<TableSlice> slices = new ArrayList<>();
        for (int i = 0; i < split.ranges(); i++) {
            slices.add(TableSlice.range(id, i, split));
        }
        return TableSet.open(slices, infos, config, ConnectionFactory.forTask(config, "null-key-test", slices.size()),
                new NoOffsets(), null);
    }

    @Test
    void aNullKeyInNoKeyRangeStopsTheTask() throws Exception {
        Map<String, String> props = props("ranged");
        try (TableSet ranges = rangesOf("ranged", props, new KeySplit(List.of(List.of(300L), List.of(600L))))) {
            List<SourceRecord> delivered = new ArrayList<>();
            ConnectException e = assertThrows(ConnectException.class, () -> {
                for (int poll = 0; poll < 1000; poll++) {
                    List<SourceRecord> batch = ranges.poll();
                    if (batch != null) {
                        delivered.addAll(batch);
                    }
                }
            }, () -> "no failure; delivered " + delivered.size() + " rows");
            assertNamesTheNullKey(e, "ranged");
        }
    }

    @Test
    void aNullKeyWrittenWhileChangesAreFollowedInKeyRangesStopsTheTask() throws Exception {
        Map<String, String> props = props("followed");
        props.put("snapshot.mode", "initial");
        props.put("incremental.column", "updated_at");
        try (TableSet ranges = rangesOf("followed", props, new KeySplit(List.of(List.of(50L))))) {
            List<SourceRecord> delivered = new ArrayList<>();
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (delivered.size() < 100 && System.nanoTime() < deadline) {
                List<SourceRecord> batch = ranges.poll();
                if (batch != null) {
                    delivered.addAll(batch);
                }
            }
            assertEquals(100, delivered.size(), "the snapshot of both ranges");
            db.execute("INSERT INTO followed (k) VALUES (NULL)", "UPDATE followed SET updated_at = now() WHERE k = 7");
            ConnectException e = assertThrows(ConnectException.class, () -> {
                long end = System.nanoTime() + 30_000_000_000L;
                while (System.nanoTime() < end) {
                    List<SourceRecord> batch = ranges.poll();
                    if (batch != null) {
                        delivered.addAll(batch);
                    }
                    Thread.sleep(5);
                }
            }, () -> "no failure; delivered " + delivered.size() + " records");
            assertNamesTheNullKey(e, "followed");
        }
    }

    @Test
    void aNullKeyTiedWithTheLastChangeDeliveredStopsTheTask() throws Exception {
        Map<String, String> props = props("tied");
        props.put("snapshot.mode", "initial");
        props.put("incremental.column", "updated_at");
        try (TaskHarness harness = new TaskHarness(props).start()) {
            List<SourceRecord> delivered = new ArrayList<>();
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (delivered.size() < 10 && System.nanoTime() < deadline) {
                List<SourceRecord> batch = harness.poll();
                if (batch != null) {
                    delivered.addAll(batch);
                }
            }
            assertEquals(10, delivered.size(), "the snapshot");
            db.execute("UPDATE tied SET updated_at = now() WHERE k = 7");
            while (delivered.size() < 11 && System.nanoTime() < deadline) {
                List<SourceRecord> batch = harness.poll();
                if (batch != null) {
                    delivered.addAll(batch);
                }
            }
            assertEquals(11, delivered.size(), "the change of k = 7");
            // Same tracking value as the position (its_time, 7): (updated_at, k) > (its_time, 7) is NULL for it.
            db.execute("INSERT INTO tied (k, updated_at) SELECT NULL, updated_at FROM tied WHERE k = 7");
            ConnectException e = assertThrows(ConnectException.class, () -> {
                long end = System.nanoTime() + 20_000_000_000L;
                while (System.nanoTime() < end) {
                    List<SourceRecord> batch = harness.poll();
                    if (batch != null) {
                        delivered.addAll(batch);
                    }
                    Thread.sleep(5);
                }
            }, () -> "no failure; delivered " + delivered.size() + " records");
            assertNamesTheNullKey(e, "tied");
        }
    }

    /** No committed offsets: every range starts fresh. */
    private static final class NoOffsets implements OffsetStorageReader {
        @Override
        public <T> Map<String, Object> offset(Map<String, T> partition) {
            return null;
        }

        @Override
        public <T> Map<Map<String, T>, Map<String, Object>> offsets(Collection<Map<String, T>> partitions) {
            return Map.of();
        }
    }
}

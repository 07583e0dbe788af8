package dev.pgkeyset.connect.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.config.TableSlice;
import dev.pgkeyset.connect.config.TaskConfig;
import dev.pgkeyset.connect.offset.KeySplit;
import dev.pgkeyset.connect.offset.OffsetCodec;
import dev.pgkeyset.connect.offset.TablePartition;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * Key ranges resuming from committed offsets, task by task in this thread: a range never resumes
 * from an offset of another split of its table (issue 12 case 2), and a split table switched to
 * snapshot.mode=never keeps its ranges and their change positions (case 4). Expectations are the
 * keys PostgreSQL lists.
 */
class SplitResumeIT {

    private static final int ROWS = 20_000;
    private static final TableId T = new TableId("public", "t");
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private TestDatabase db;

    @BeforeEach
    void setUp() {
        db = PostgresFixture.createDatabase("split_resume");
        db.execute("CREATE TABLE t (id bigint PRIMARY KEY, payload text NOT NULL,"
                        + " updated_at timestamptz NOT NULL DEFAULT now())",
                "CREATE INDEX ON t (updated_at, id)",
                "INSERT INTO t SELECT g, 'p' || g, now() - interval '1 hour' FROM generate_series(1, " + ROWS + ") g",
                "ANALYZE t");
    }

    @AfterEach
    void tearDown() {
        db.close();
    }

    private Map<String, String> props(String mode) {
        Map<String, String> props = db.connectorConfig("c", "public\\.t");
        props.put("snapshot.mode", mode);
        props.put("incremental.column", "updated_at");
        props.put("poll.interval.ms", "50");
        props.put("batch.max.rows", "500");
        return props;
    }

    private static Map<String, String> taskConfig(Map<String, String> props, KeySplit split) {
        List<TableSlice> slices = new ArrayList<>();
        for (int i = 0; i < split.ranges(); i++) {
            slices.add(TableSlice.range(T, i, split));
        }
        Map<String, String> task = new HashMap<>(props);
        task.put(TaskConfig.TASK_TABLES, TaskConfig.encodeSlices(slices));
        return task;
    }

    private static KeySplit split(long... boundaries) {
        List<List<Object>> list = new ArrayList<>();
        for (long b : boundaries) {
            list.add(List.of(b));
        }
        return new KeySplit(list);
    }

    private static long id(SourceRecord record) {
        return ((Struct) record.key()).getInt64("id");
    }

    private TreeSet<Long> keysInPostgres(String where) throws Exception {
        TreeSet<Long> keys = new TreeSet<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM t " + where + " ORDER BY id")) {
            while (rs.next()) {
                keys.add(rs.getLong(1));
            }
        }
        return keys;
    }

    /**
     * The old split cuts at a; its two ranges, read side by side, stopped at p0 and p1. The new
     * split cuts at b (p0 &lt; b &lt; a &lt; p1), and its readers find the old offsets under their
     * partitions: new range 1 ([b, end)) must not resume after p1, or the keys from b to a, which
     * old range 0 had not reached, never arrive.
     */
    @Test
    void aRangeNeverResumesFromAnOffsetOfAnotherSplit() throws Exception {
        long seed = Long.getLong("pgkeyset.seed", System.nanoTime());
        Random random = new Random(seed);
        long a = 6_000 + random.nextInt(8_000);
        KeySplit old = split(a);
        Map<String, String> props = props("initial_only");
        TreeSet<Long> delivered = new TreeSet<>();
        Map<Map<String, Object>, Map<String, Object>> committed = new HashMap<>();
        for (int range = 0; range < 2; range++) {
            // Each old range in a task of its own, a few batches of 500 rows: both part of the way.
            Map<String, String> task = new HashMap<>(props);
            task.put(TaskConfig.TASK_TABLES, TaskConfig.encodeSlices(List.of(TableSlice.range(T, range, old))));
            try (TaskHarness first = new TaskHarness(props)) {
                first.startTask(task);
                for (int polls = 1 + random.nextInt(4); polls > 0; polls--) {
                    first.poll().forEach(r -> delivered.add(id(r)));
                }
                committed.putAll(first.committed());
            }
        }
        long p0 = delivered.stream().filter(k -> k < a).mapToLong(Long::longValue).max().orElseThrow();
        long p1 = delivered.stream().mapToLong(Long::longValue).max().orElseThrow();
        long b = p0 + 1 + random.nextInt((int) (a - p0 - 1));
        KeySplit now = split(b);
        System.out.printf("aRangeNeverResumesFromAnOffsetOfAnotherSplit: seed %d (-Dpgkeyset.seed), old split at %d "
                + "(ranges stopped at %d and %d), new split at %d%n", seed, a, p0, p1, b);
        assertTrue(p0 < b && b < a && a < p1);

        try (TaskHarness second = new TaskHarness(props)) {
            second.committed().putAll(committed);
            second.startTask(taskConfig(props, now));
            second.pollUntilIdle(r -> delivered.add(id(r)));
            committed = new HashMap<>(second.committed());
        }
        TreeSet<Long> expected = keysInPostgres("");
        TreeSet<Long> missing = new TreeSet<>(expected);
        missing.removeAll(delivered);
        System.out.printf("aRangeNeverResumesFromAnOffsetOfAnotherSplit: %d of %d keys missing%s%n", missing.size(),
                expected.size(), missing.isEmpty() ? "" : " (" + missing.first() + ".." + missing.last() + ")");
        assertTrue(missing.isEmpty(), missing.size() + " keys never arrived");
        assertTrue(expected.containsAll(delivered), "only keys of the table");
        for (int i = 0; i < now.ranges(); i++) {
            assertEquals(now.json(), committed.get(TablePartition.ofRange(T, i)).get(OffsetCodec.SPLIT),
                    "range " + i + " commits an offset of its own split");
        }
    }

    /**
     * A split table copied and followed, then switched to snapshot.mode=never while changes wait:
     * exactly the changed rows arrive, none lost (incremental.start=now) and the table not read
     * again as changes (earliest).
     */
    @Test
    void aSplitTableSwitchedToNeverKeepsFollowingEachRangeFromItsOffset() throws Exception {
        for (String start : new String[] {"now", "earliest"}) {
            db.execute("UPDATE t SET payload = 'p' || id, updated_at = now() - interval '1 hour'");
            KeySplit split = split(ROWS / 2);
            Map<Map<String, Object>, Map<String, Object>> committed;
            try (TaskHarness first = new TaskHarness(props("initial"))) {
                first.startTask(taskConfig(props("initial"), split));
                long copied = first.pollUntilIdle(r -> { });
                assertEquals(ROWS, copied, "the snapshot of both ranges");
                committed = new HashMap<>(first.committed());
            }
            db.execute("UPDATE t SET payload = 'changed-" + start + "', updated_at = now() WHERE id % 2000 = 7");
            TreeSet<Long> changed = keysInPostgres("WHERE payload = 'changed-" + start + "'");
            Map<String, String> never = props("never");
            never.put("incremental.start", start);
            List<Long> delivered = new ArrayList<>();
            try (TaskHarness second = new TaskHarness(never)) {
                second.committed().putAll(committed);
                second.start();
                long deadline = System.nanoTime() + TIMEOUT.toNanos();
                long quietUntil = Long.MAX_VALUE;
                while (System.nanoTime() < Math.min(deadline, quietUntil)) {
                    List<SourceRecord> batch = second.poll();
                    if (batch != null) {
                        batch.forEach(r -> delivered.add(id(r)));
                    } else {
                        Thread.sleep(50);
                    }
                    if (quietUntil == Long.MAX_VALUE && new TreeSet<>(delivered).containsAll(changed)) {
                        quietUntil = System.nanoTime() + Duration.ofSeconds(3).toNanos();
                    }
                }
            }
            System.out.printf("split table switched to never (incremental.start=%s): %d changed rows, %d records "
                    + "delivered%n", start, changed.size(), delivered.size());
            assertEquals(changed.size(), delivered.size(), "incremental.start=" + start + ": as many records as "
                    + "changed rows");
            assertEquals(changed, new TreeSet<>(delivered), "incremental.start=" + start + ": the changed rows");
        }
    }

    /** Polls until {@code done} holds for the keys delivered so far, then 2 s more; fails after TIMEOUT. */
    private static List<Long> pollUntil(TaskHarness harness, java.util.function.Predicate<List<Long>> done)
            throws InterruptedException {
        List<Long> delivered = new ArrayList<>();
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        long quietUntil = Long.MAX_VALUE;
        while (System.nanoTime() < Math.min(deadline, quietUntil)) {
            List<SourceRecord> batch = harness.poll();
            if (batch != null) {
                batch.forEach(r -> delivered.add(id(r)));
            } else {
                Thread.sleep(50);
            }
            if (quietUntil == Long.MAX_VALUE && done.test(delivered)) {
                quietUntil = System.nanoTime() + Duration.ofSeconds(2).toNanos();
            }
        }
        return delivered;
    }

    /**
     * snapshot.mode=never with incremental.start=now, and offsets of another split in the change
     * phase: old range 1 had not delivered changes of its keys that old range 0's position is past.
     * New range 0 covers some of those keys: resuming from old range 0's position would skip them,
     * and "now" would too; it follows its changes from the smallest tracking value instead.
     */
    @Test
    void withoutASnapshotARangeOfAnotherSplitFollowsItsChangesFromTheStart() throws Exception {
        long seed = Long.getLong("pgkeyset.seed", System.nanoTime());
        Random random = new Random(seed);
        long a = 4_000 + random.nextInt(6_000);
        long b = a + 1_000 + random.nextInt(ROWS - (int) a - 2_000);
        System.out.printf("withoutASnapshot...: seed %d (-Dpgkeyset.seed), old split at %d, new at %d%n", seed, a, b);
        KeySplit old = split(a);
        Map<String, String> initial = props("initial");
        Map<Map<String, Object>, Map<String, Object>> committed = new HashMap<>();
        for (int range = 0; range < 2; range++) {
            Map<String, String> task = new HashMap<>(initial);
            task.put(TaskConfig.TASK_TABLES, TaskConfig.encodeSlices(List.of(TableSlice.range(T, range, old))));
            try (TaskHarness first = new TaskHarness(initial)) {
                first.startTask(task);
                first.pollUntilIdle(r -> { });
                committed.putAll(first.committed());
            }
        }
        // Changes of old range 1's keys it never delivers; then old range 0 follows changes of its own, later ones.
        db.execute("UPDATE t SET payload = 'late', updated_at = now() WHERE id >= " + a + " AND id % 100 = 3");
        Thread.sleep(50);
        db.execute("UPDATE t SET payload = 'later', updated_at = now() WHERE id < " + a + " AND id % 100 = 5");
        TreeSet<Long> later = keysInPostgres("WHERE payload = 'later'");
        Map<String, String> task = new HashMap<>(initial);
        task.put(TaskConfig.TASK_TABLES, TaskConfig.encodeSlices(List.of(TableSlice.range(T, 0, old))));
        try (TaskHarness range0 = new TaskHarness(initial)) {
            range0.committed().putAll(committed);
            range0.startTask(task);
            pollUntil(range0, delivered -> new TreeSet<>(delivered).containsAll(later));
            committed.putAll(range0.committed());
        }
        assertEquals("incremental", committed.get(TablePartition.ofRange(T, 0)).get(OffsetCodec.PHASE));

        TreeSet<Long> late = keysInPostgres("WHERE payload = 'late'");
        Map<String, String> never = props("never");
        never.put("incremental.start", "now");
        List<Long> delivered;
        try (TaskHarness second = new TaskHarness(never)) {
            second.committed().putAll(committed);
            second.startTask(taskConfig(never, split(b)));
            delivered = pollUntil(second, d -> new TreeSet<>(d).containsAll(late));
        }
        TreeSet<Long> missing = new TreeSet<>(late);
        missing.removeAll(delivered);
        System.out.printf("withoutASnapshot...: %d of %d undelivered changes missing, %d records%n", missing.size(),
                late.size(), delivered.size());
        assertTrue(missing.isEmpty(), missing.size() + " changes never arrived");
    }
}

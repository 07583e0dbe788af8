package dev.pgkeyset.connect.changes.wal;

import static dev.pgkeyset.connect.changes.wal.WalValuesIT.pollUntil;
import static dev.pgkeyset.connect.changes.wal.WalValuesIT.walProps;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.header.Header;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.offset.WalOffset;
import dev.pgkeyset.connect.record.TablePlan;
import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * Adversarial checks of capture.mode=wal against catalog changes made while the task streams:
 * what validate() refuses at the start must not slip through once streaming.
 */
class WalMidStreamAdversaryIT {

    private static String op(SourceRecord record) {
        Header header = record.headers().lastWithName(TablePlan.OP_HEADER);
        return header == null ? null : String.valueOf(header.value());
    }

    static String uniqueName(String purpose) {
        return ("wal_adv_" + purpose + "_" + Long.toHexString(System.nanoTime() & 0xffffffL)).toLowerCase();
    }

    /** Polls for {@code millis}, collecting records; the task's failure, if any, is returned. */
    static Exception pollFor(TaskHarness task, List<SourceRecord> into, long millis) {
        long until = System.currentTimeMillis() + millis;
        try {
            while (System.currentTimeMillis() < until) {
                List<SourceRecord> batch = task.poll();
                if (batch != null) {
                    into.addAll(batch);
                }
            }
            return null;
        } catch (Exception e) {
            return e;
        }
    }

    /**
     * The partition tests' look at the catalog (catalog.check.interval.ms): 1 s instead of the
     * default 5 s, so a case waits seconds, not tens of seconds. A case that needs DDL to fall
     * within one look sets the default back.
     */
    static final String LOOK_EVERY_SECOND = "1000";
    static final String LOOK_AS_BY_DEFAULT = Long.toString(PgKeysetConfig.CATALOG_CHECK_INTERVAL_MS_DEFAULT);

    /** {@code props} with looks every second, unless they already say otherwise. */
    static Map<String, String> lookingEverySecond(Map<String, String> props) {
        props.putIfAbsent(PgKeysetConfig.CATALOG_CHECK_INTERVAL_MS, LOOK_EVERY_SECOND);
        return props;
    }

    /** How long to poll after DDL for the task to have looked twice (and acted), with room to spare. */
    static long twoLooksAndMore(Map<String, String> props) {
        String interval = props.getOrDefault(PgKeysetConfig.CATALOG_CHECK_INTERVAL_MS, LOOK_AS_BY_DEFAULT);
        return 2 * Long.parseLong(interval) + 2000;
    }

    /** Starts the task again (its committed offsets kept) and polls; the failure of either, if any. */
    static Exception startAndPollFor(TaskHarness task, List<SourceRecord> into, long millis) {
        try {
            task.start();
        } catch (Exception e) {
            return e;
        }
        return pollFor(task, into, millis);
    }

    /** Each key's last record: the id, and null for a tombstone or the value's column n. */
    static Map<Integer, Integer> lastPerKey(List<SourceRecord> records) {
        Map<Integer, Integer> last = new HashMap<>();
        for (SourceRecord r : records) {
            if (r.key() == null) {
                continue;
            }
            Object id = ((Struct) r.key()).get("id");
            Integer key = id == null ? null : ((Number) id).intValue();
            last.put(key, r.value() == null ? null : ((Number) ((Struct) r.value()).get("n")).intValue());
        }
        return last;
    }

    /**
     * Key = primary key (id), replica identity DEFAULT: validate() accepts. While the task streams,
     * the replica identity is switched to a unique index on another column (code), which validate()
     * would refuse ("keyed by (id) but its replica identity is the index ..."). PostgreSQL then logs
     * an update of id alone with no old key, and a delete with only code. Expected: each key's last
     * record equals PostgreSQL's rows (ids 1 and 2 end in a tombstone), or the task fails naming the
     * table; never an old key left alive or a tombstone without its key.
     */
    @Test
    void replicaIdentitySwitchedAwayFromTheKeyWhileStreamingIsNotSkippedInSilence() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("wal_adv_ri_drift");
        String name = uniqueName("ridrift");
        try {
            db.execute("CREATE TABLE t (id int PRIMARY KEY, code int NOT NULL, n int)",
                    "CREATE UNIQUE INDEX t_code ON t (code)",
                    "INSERT INTO t SELECT i, i * 10, 0 FROM generate_series(1, 3) i");
            try (TaskHarness task = new TaskHarness(walProps(db, "public\\.t", name)).start()) {
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(),
                        r -> r.stream().filter(x -> "r".equals(op(x))).count() == 3);
                db.execute("UPDATE t SET n = 1 WHERE id = 3");
                pollUntil(task, records, r -> r.stream().anyMatch(x -> "u".equals(op(x))));
                db.execute("ALTER TABLE t REPLICA IDENTITY USING INDEX t_code",
                        "UPDATE t SET id = 100, n = 2 WHERE id = 1");
                Exception failure = pollFor(task, records, 6000);
                if (failure == null) {
                    db.execute("DELETE FROM t WHERE id = 2", "INSERT INTO t VALUES (4, 40, 4)");
                    failure = pollFor(task, records, 6000);
                }
                Map<Integer, Integer> expected = new HashMap<>();
                expected.put(1, null);
                expected.put(2, null);
                try (Connection c = db.connect(); Statement st = c.createStatement();
                     ResultSet rs = st.executeQuery("SELECT id, n FROM t")) {
                    while (rs.next()) {
                        expected.put(rs.getInt(1), rs.getInt(2));
                    }
                }
                Map<Integer, Integer> last = lastPerKey(records);
                String message = failure == null ? "" : String.valueOf(failure.getMessage());
                boolean namedFailure = message.contains("public.t") && message.contains("REPLICA IDENTITY");
                boolean oldKeyLeftAlive = last.containsKey(100) && last.get(1) != null;
                assertTrue(expected.equals(last) || namedFailure && !oldKeyLeftAlive && !last.containsKey(null),
                        "after REPLICA IDENTITY USING INDEX t_code: last record per key " + last + ", PostgreSQL "
                                + expected + "; the task must deliver that or fail naming the table and its replica "
                                + "identity; failure: " + failure);
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /** PostgreSQL's rows of {@code table} as id to n. */
    private static Map<Integer, Integer> rows(TestDatabase db, String table) throws Exception {
        Map<Integer, Integer> rows = new HashMap<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, n FROM " + table)) {
            while (rs.next()) {
                rows.put(rs.getInt(1), rs.getInt(2));
            }
        }
        return rows;
    }

    /**
     * Partition maintenance of a partitioned table p captured through its root (partitions p1
     * [0, 100) with ids 1 and 2, p2 [100, 200) with id 101; a plain table p3 holding 250 and 251).
     * None of it writes a row change to the WAL; the task looks at p's partitions every 5 s and
     * acts where the stream reaches what it saw (PartitionWatch). Each case: the snapshot's three
     * rows arrive, the DDL runs, then an INSERT of id 3; the task is polled for 12 s.
     */
    static final List<String> PARTITION_SETUP = List.of(
            "CREATE TABLE p (id int PRIMARY KEY, n int) PARTITION BY RANGE (id)",
            "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (100)",
            "CREATE TABLE p2 PARTITION OF p FOR VALUES FROM (100) TO (200)",
            "INSERT INTO p VALUES (1, 0), (2, 0), (101, 0)",
            "CREATE TABLE p3 (id int PRIMARY KEY, n int)", "INSERT INTO p3 VALUES (250, 7), (251, 7)");

    /** Each key's live value (column n) from the records, in order; a truncate record clears them all. */
    static Map<Integer, Integer> liveAfterTruncates(List<SourceRecord> records) {
        Map<Integer, Integer> last = new HashMap<>();
        for (SourceRecord r : records) {
            if ("t".equals(op(r))) {
                last.replaceAll((k, v) -> null);
            } else if (r.key() != null) {
                last.put(((Number) ((Struct) r.key()).get("id")).intValue(),
                        r.value() == null ? null : ((Number) ((Struct) r.value()).get("n")).intValue());
            }
        }
        last.values().removeIf(v -> v == null);
        return last;
    }

    private record PartitionRun(List<SourceRecord> records, Exception failure, Map<Integer, Integer> rows) {

        Map<Integer, Integer> live() {
            return liveAfterTruncates(records);
        }

        String message() {
            return failure == null ? "" : String.valueOf(failure.getMessage());
        }
    }

    private interface PartitionCase {
        void run(TestDatabase db, TaskHarness task, PartitionRun first) throws Exception;
    }

    private static void partitionDdl(String purpose, List<String> ddl, Map<String, String> extra, PartitionCase then)
            throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("wal_adv_" + purpose);
        String name = uniqueName(purpose);
        try {
            db.execute(PARTITION_SETUP.toArray(String[]::new));
            Map<String, String> props = walProps(db, "public\\.p", name);
            props.putAll(extra);
            lookingEverySecond(props);
            try (TaskHarness task = new TaskHarness(props).start()) {
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(),
                        r -> r.stream().filter(x -> "r".equals(op(x))).count() == 3);
                db.execute(ddl.toArray(String[]::new));
                db.execute("INSERT INTO p VALUES (3, 3)");
                Exception failure = pollFor(task, records, twoLooksAndMore(props));
                then.run(db, task, new PartitionRun(records, failure, rows(db, "p")));
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /**
     * ATTACH of a table with rows: the WAL never carried them, so they are copied through p beside
     * the stream (op r, at the stream's place: the slot's partition). Each key's last record is
     * the row; a restart after the copy copies nothing again (the offsets say it is done).
     */
    @Test
    void aPartitionAttachedWithRowsIsCopiedBesideTheStream() throws Exception {
        partitionDdl("attach", List.of("ALTER TABLE p ATTACH PARTITION p3 FOR VALUES FROM (200) TO (300)"), Map.of(),
                (db, task, first) -> {
                    assertEquals(null, first.failure());
                    assertEquals(Map.of(1, 0, 2, 0, 3, 3, 101, 0, 250, 7, 251, 7), first.rows());
                    assertEquals(first.rows(), first.live(), "each key's last record against PostgreSQL's rows of p");
                    List<SourceRecord> copied = first.records().stream()
                            .filter(r -> ((Number) ((Struct) r.key()).get("id")).intValue() >= 250).toList();
                    assertEquals(2, copied.size(), "each row of p3 once: " + copied);
                    for (SourceRecord r : copied) {
                        assertEquals("r", op(r));
                        assertTrue(r.sourcePartition().containsKey(WalOffset.SLOT), "the stream's partition: "
                                + r.sourcePartition());
                    }
                    task.stop();
                    List<SourceRecord> afterRestart = new ArrayList<>();
                    assertEquals(null, startAndPollFor(task, afterRestart, 3000));
                    assertEquals(List.of(), afterRestart, "nothing copied or streamed again after a restart");
                });
    }

    /** DETACH under truncate.handling=event (the default): a warning, no record, the stream goes on. */
    @Test
    void aPartitionDetachedUnderTheDefaultTruncateHandlingIsWarnedAboutAndTheStreamGoesOn() throws Exception {
        partitionDdl("detach", List.of("ALTER TABLE p DETACH PARTITION p2"), Map.of(), (db, task, first) -> {
            assertEquals(null, first.failure());
            Map<Integer, Integer> expected = new HashMap<>(first.rows());
            expected.put(101, 0); // the detached partition's row stays live in the topic (documented)
            assertEquals(expected, first.live());
        });
    }

    @Test
    void aPartitionDetachedUnderTruncateHandlingFailFailsTheTaskNamingIt() throws Exception {
        partitionDdl("detach_fail", List.of("ALTER TABLE p DETACH PARTITION p2"), Map.of("truncate.handling", "fail"),
                (db, task, first) -> assertTrue(first.message().contains("public.p2") && first.message().contains(
                        "detached") && first.message().contains("truncate.handling=fail"), "failure: " + first.failure()));
    }

    @Test
    void aPartitionDroppedUnderTruncateHandlingFailFailsTheTaskNamingIt() throws Exception {
        partitionDdl("drop_part", List.of("DROP TABLE p2"), Map.of("truncate.handling", "fail"),
                (db, task, first) -> assertTrue(first.message().contains("public.p2") && first.message().contains(
                        "dropped"), "failure: " + first.failure()));
    }

    /** pgoutput sends nothing for a TRUNCATE of one partition of a table published via its root. */
    @Test
    void aTruncateOfOnePartitionFailsTheTaskUnderTruncateHandlingFail() throws Exception {
        partitionDdl("trunc_part", List.of("TRUNCATE p2"), Map.of("truncate.handling", "fail"),
                (db, task, first) -> assertTrue(first.message().contains("public.p2") && first.message().contains(
                        "truncated"), "failure: " + first.failure()));
    }

    /**
     * Routine maintenance is not mistaken for any of that, even under truncate.handling=fail: a
     * partition created and filled at once, a table attached empty, VACUUM FULL and CLUSTER of a
     * partition. Every row arrives.
     */
    @Test
    void partitionsCreatedOrAttachedEmptyAndRewrittenPartitionsGoOnStreaming() throws Exception {
        partitionDdl("routine", List.of("CREATE TABLE p4 PARTITION OF p FOR VALUES FROM (300) TO (400)",
                        "INSERT INTO p VALUES (350, 1), (351, 1)", "DELETE FROM p3",
                        "ALTER TABLE p ATTACH PARTITION p3 FOR VALUES FROM (200) TO (300)",
                        "INSERT INTO p VALUES (260, 2)", "VACUUM FULL p1", "CLUSTER p2 USING p2_pkey"),
                Map.of("truncate.handling", "fail"), (db, task, first) -> {
                    assertEquals(null, first.failure());
                    assertEquals(first.rows(), first.live(), "each key's last record against PostgreSQL's rows of p");
                });
    }

    /** TRUNCATE of the whole table is its truncate record, not also a truncate of each partition. */
    @Test
    void aTruncateOfTheWholeTableIsOneTruncateRecord() throws Exception {
        partitionDdl("trunc_all", List.of("TRUNCATE p"), Map.of(), (db, task, first) -> {
            assertEquals(null, first.failure());
            assertEquals(1, first.records().stream().filter(r -> "t".equals(op(r))).count());
            assertEquals(first.rows(), first.live());
        });
    }

    /**
     * Partition DDL while no task runs: the slot's committed offset carries the partitions it was
     * made with, so the next start compares them with the catalog and acts as the running task would.
     */
    @Test
    void partitionDdlWhileNoTaskRanIsSeenAtTheNextStart() throws Exception {
        PartitionRun attached = partitionDdlWhileDown("down_attach",
                "ALTER TABLE p ATTACH PARTITION p3 FOR VALUES FROM (200) TO (300)", Map.of());
        assertEquals(null, attached.failure(), "a partition attached with rows while no task ran is copied");
        assertEquals(attached.rows(), attached.live(), "each key's last record against PostgreSQL's rows of p");
        assertTrue(attached.rows().containsKey(250), "p3's rows are p's: " + attached.rows());
        PartitionRun detached = partitionDdlWhileDown("down_detach", "ALTER TABLE p DETACH PARTITION p2",
                Map.of("truncate.handling", "fail"));
        assertTrue(detached.message().contains("public.p") && detached.message().contains("detached"),
                "after a DETACH while no task ran, the next start: " + detached.failure());
    }

    /** Every record of both runs, the second run's failure, and PostgreSQL's rows of p at the end. */
    private static PartitionRun partitionDdlWhileDown(String purpose, String ddl, Map<String, String> extra)
            throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("wal_adv_" + purpose);
        String name = uniqueName(purpose);
        try {
            db.execute(PARTITION_SETUP.toArray(String[]::new));
            Map<String, String> props = lookingEverySecond(walProps(db, "public\\.p", name));
            props.putAll(extra);
            try (TaskHarness task = new TaskHarness(props).start()) {
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(),
                        r -> r.stream().filter(x -> "r".equals(op(x))).count() == 3);
                db.execute("INSERT INTO p VALUES (3, 3)");
                pollUntil(task, records, r -> r.stream().anyMatch(x -> "c".equals(op(x))));
                task.stop();
                Map<String, Object> slotOffset = task.committed().get(WalOffset.partition(name));
                assertTrue(WalOffset.partitions(slotOffset) != null, "the slot's offset carries the partitions: "
                        + slotOffset);
                db.execute(ddl);
                Exception failure = startAndPollFor(task, records, 3000);
                return new PartitionRun(records, failure, rows(db, "p"));
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    private static long usedHeapAfterGc() {
        Runtime runtime = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return runtime.totalMemory() - runtime.freeMemory();
    }

    /**
     * "Memory is bounded by batch.max.rows/batch.max.bytes however large a row is." One transaction
     * updates 400 rows whose 256 KB text value (incompressible, stored out of line) it leaves
     * unchanged, so each update's value is fetched by key. batch.max.bytes is 4 MB: once the first
     * batch is handed over (and dropped by the test), the task may hold at most a few batches'
     * worth, not the 100 MB of every row's value.
     */
    @Test
    void largeUnchangedToastValuesOfOneTransactionAreNotAllHeldAtOnce() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("wal_adv_toast_mem");
        String name = uniqueName("toastmem");
        int rows = 400;
        try {
            db.execute("CREATE TABLE m (id int PRIMARY KEY, n int, v text)",
                    "ALTER TABLE m ALTER COLUMN v SET STORAGE EXTERNAL",
                    "INSERT INTO m SELECT i, 0, (SELECT string_agg(md5(i::text || '.' || g::text), '')"
                            + " FROM generate_series(1, 8192) g) FROM generate_series(1, " + rows + ") i");
            Map<String, String> props = walProps(db, "public\\.m", name);
            props.put("snapshot.mode", "never");
            props.put("batch.max.bytes", String.valueOf(4L << 20));
            try (TaskHarness task = new TaskHarness(props).start()) {
                pollFor(task, new ArrayList<>(), 1500); // the stream is open
                db.execute("UPDATE m SET n = 1");
                long before = usedHeapAfterGc();
                List<SourceRecord> first = new ArrayList<>();
                pollUntil(task, first, r -> !r.isEmpty());
                int handedOver = first.size();
                assertTrue(first.stream().allMatch(r -> ((Struct) r.value()).getString("v").length() == 8192 * 32),
                        "each update carries its real 256 KB value");
                first.clear();
                long held = usedHeapAfterGc() - before;
                System.out.println("toast memory: first batch " + handedOver + " records, then held " + (held >> 20)
                        + " MB");
                assertTrue(held < (40L << 20), "after a first batch of " + handedOver + " records (batch.max.bytes 4 MB)"
                        + " the task holds " + (held >> 20) + " MB more than before: the fetched values of the whole"
                        + " transaction (" + rows + " x 256 KB), not a batch's worth");
                List<SourceRecord> rest = pollUntil(task, new ArrayList<>(), r -> r.size() + handedOver >= rows);
                assertEquals(rows, rest.size() + handedOver);
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /**
     * A primary key that is a stored generated column: PostgreSQL 15's pgoutput sends no generated
     * column, neither in a new row nor in the old key of a delete. Expected: validate() refuses the
     * table naming it, or the stream gives each key's last record as PostgreSQL has the rows.
     */
    @Test
    void aGeneratedPrimaryKeyIsRefusedOrStreamed() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("wal_adv_gen_key");
        String name = uniqueName("genkey");
        try {
            db.execute("CREATE TABLE g (a int NOT NULL, n int, id int GENERATED ALWAYS AS (a * 2) STORED PRIMARY KEY)",
                    "INSERT INTO g (a, n) VALUES (1, 0), (2, 0), (3, 0)");
            Map<String, String> props = walProps(db, "public\\.g", name);
            List<String> errors = new ArrayList<>();
            new dev.pgkeyset.connect.PgKeysetSourceConnector().validate(props).configValues()
                    .forEach(v -> v.errorMessages().forEach(e -> errors.add(v.name() + ": " + e)));
            if (errors.stream().anyMatch(e -> e.contains("public.g"))) {
                return; // refused, naming the table
            }
            assertEquals(List.of(), errors);
            try (TaskHarness task = new TaskHarness(props).start()) {
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(),
                        r -> r.stream().filter(x -> "r".equals(op(x))).count() == 3);
                db.execute("INSERT INTO g (a, n) VALUES (4, 4)", "UPDATE g SET n = 1 WHERE a = 1",
                        "DELETE FROM g WHERE a = 2");
                Exception failure = pollFor(task, records, 5000);
                Map<Integer, Integer> expected = rows(db, "g");
                expected.put(4, null);
                Map<Integer, Integer> last = lastPerKey(records);
                assertEquals(expected, last, "failure: " + failure);
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /**
     * A partitioned table without a primary key, keyed by key.columns, its leaves REPLICA IDENTITY
     * FULL (validate() accepts: each leaf's identity decides what is logged). Its changes stream;
     * then one leaf's identity is switched to a unique index on another column: a later update of
     * the key in that leaf comes with no old key. Expected: each key's last record equals
     * PostgreSQL's rows, or the task fails naming the partition or the table.
     */
    @Test
    void aLeafWhoseIdentityStopsHoldingTheKeyIsNotSkippedInSilence() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("wal_adv_leaf_ri");
        String name = uniqueName("leafri");
        try {
            db.execute("CREATE TABLE q (id int NOT NULL, code int NOT NULL, n int) PARTITION BY RANGE (id)",
                    "CREATE TABLE q1 PARTITION OF q FOR VALUES FROM (0) TO (100)",
                    "CREATE TABLE q2 PARTITION OF q FOR VALUES FROM (100) TO (200)",
                    "ALTER TABLE q1 REPLICA IDENTITY FULL", "ALTER TABLE q2 REPLICA IDENTITY FULL",
                    "CREATE UNIQUE INDEX q2_code ON q2 (code)",
                    "INSERT INTO q VALUES (1, 1, 0), (2, 2, 0), (101, 101, 0), (102, 102, 0)");
            Map<String, String> props = walProps(db, "public\\.q", name);
            props.put("key.columns", "public.q:id");
            try (TaskHarness task = new TaskHarness(props).start()) {
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(),
                        r -> r.stream().filter(x -> "r".equals(op(x))).count() == 4);
                db.execute("UPDATE q SET n = 1 WHERE id = 1", "UPDATE q SET id = 3 WHERE id = 2",
                        "DELETE FROM q WHERE id = 101");
                Exception failure = pollFor(task, records, 4000);
                Map<Integer, Integer> expected = rows(db, "q");
                expected.put(2, null);
                expected.put(101, null);
                assertEquals(expected, lastPerKey(records), "under FULL leaves; failure: " + failure);
                db.execute("ALTER TABLE q2 REPLICA IDENTITY USING INDEX q2_code", "UPDATE q SET id = 150 WHERE id = 102");
                failure = pollFor(task, records, 6000);
                expected = rows(db, "q");
                expected.put(2, null);
                expected.put(101, null);
                expected.put(102, null);
                Map<Integer, Integer> last = lastPerKey(records);
                String message = failure == null ? "" : String.valueOf(failure.getMessage());
                boolean named = message.contains("public.q2") || message.contains("public.q ");
                assertTrue(expected.equals(last) || named && !(last.containsKey(150) && last.get(102) != null),
                        "after q2 REPLICA IDENTITY USING INDEX q2_code: last record per key " + last + ", PostgreSQL "
                                + expected + "; failure: " + failure);
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    private static String table(SourceRecord record) {
        return record.topic().substring(record.topic().lastIndexOf('.') + 1);
    }

    /**
     * Tables a and b stream; the task stops; {@code whileDown} runs (then rows are written to both);
     * the task starts again with its committed offsets. Expected: b's keys end as PostgreSQL has
     * b's rows, or the task fails naming b or the publication; never b's rows written while it
     * was down dropped in silence while a's flow.
     */
    private static void whileStopped(String purpose, String... whileDown) throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("wal_adv_" + purpose);
        String name = uniqueName(purpose);
        try {
            db.execute("CREATE TABLE a (id int PRIMARY KEY, n int)", "CREATE TABLE b (id int PRIMARY KEY, n int)",
                    "INSERT INTO a VALUES (1, 0)", "INSERT INTO b VALUES (1, 0)");
            List<SourceRecord> records = new ArrayList<>();
            Exception failure;
            Map<String, String> props = lookingEverySecond(walProps(db, "public\\.(a|b)", name));
            try (TaskHarness task = new TaskHarness(props).start()) {
                pollUntil(task, records, r -> r.stream().filter(x -> "r".equals(op(x))).count() == 2);
                db.execute("INSERT INTO b VALUES (2, 0)");
                pollUntil(task, records, r -> r.stream().anyMatch(x -> "c".equals(op(x))));
                pollFor(task, records, 500);
                task.stop();
                db.execute(java.util.Arrays.stream(whileDown).map(q -> q.replace("%s", name)).toArray(String[]::new));
                db.execute("INSERT INTO b VALUES (7, 7)", "INSERT INTO a VALUES (7, 7)");
                try {
                    task.start();
                    failure = pollFor(task, records, twoLooksAndMore(props));
                } catch (Exception e) {
                    failure = e;
                }
            }
            Map<Integer, Integer> bLast = lastPerKey(records.stream().filter(r -> "b".equals(table(r))).toList());
            bLast.values().removeIf(v -> v == null);
            Map<Integer, Integer> expected = rows(db, "b");
            String message = failure == null ? "" : String.valueOf(failure.getMessage());
            boolean named = message.contains("public.b") || message.contains(name);
            if (failure == null) {
                assertTrue(records.stream().anyMatch(r -> "a".equals(table(r)) && r.value() != null
                        && ((Struct) r.value()).getInt32("id") == 7), "the stream ran after the restart: a's row 7");
            }
            assertTrue(expected.equals(bLast) || named, "after " + String.join("; ", whileDown) + " while the task was"
                    + " down: b's live keys from the records " + bLast + ", PostgreSQL's rows of b " + expected
                    + "; failure: " + failure);
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    @Test
    void aTableTakenOutOfThePublicationWhileTheTaskWasDownIsNotSkippedInSilence() throws Exception {
        whileStopped("pub_down", "ALTER PUBLICATION %s DROP TABLE b");
    }

    @Test
    void aTableDroppedAndCreatedAgainWhileTheTaskWasDownIsNotSkippedInSilence() throws Exception {
        whileStopped("recreate_down", "DROP TABLE b", "CREATE TABLE b (id int PRIMARY KEY, n int)");
    }

    /**
     * An offset altered over REST (PATCH /connectors/<name>/offsets) to a WAL position the server
     * has not reached (a typo: 1F/... for F1/...) passes alterOffsets' checks. Expected: the changes
     * committed after the restart are delivered, or the task fails saying the offset is ahead of
     * the server's WAL; never every later change passed over in silence.
     */
    @Test
    void anOffsetAheadOfTheServersWalIsNotFollowedInSilence() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("wal_adv_ahead");
        String name = uniqueName("ahead");
        try {
            db.execute("CREATE TABLE a (id int PRIMARY KEY, n int)", "INSERT INTO a VALUES (1, 0)");
            List<SourceRecord> records = new ArrayList<>();
            Exception failure;
            try (TaskHarness task = new TaskHarness(walProps(db, "public\\.a", name)).start()) {
                pollUntil(task, records, r -> r.stream().anyMatch(x -> "r".equals(op(x))));
                db.execute("INSERT INTO a VALUES (2, 0)");
                pollUntil(task, records, r -> r.stream().anyMatch(x -> "c".equals(op(x))));
                task.stop();
                String ahead = "FFFFFF/0";
                Map<String, Object> offset = new HashMap<>();
                offset.put("commit_lsn", ahead);
                offset.put("event", 0L);
                task.committed().put(new HashMap<>(WalOffset.partition(name)), offset);
                db.execute("INSERT INTO a VALUES (3, 3)");
                try {
                    task.start();
                    failure = pollFor(task, records, 5000);
                } catch (Exception e) {
                    failure = e;
                }
            }
            boolean delivered = records.stream().anyMatch(r -> r.value() != null
                    && ((Struct) r.value()).getInt32("id") == 3);
            String message = failure == null ? "" : String.valueOf(failure.getMessage());
            assertTrue(delivered || message.contains("FFFFFF/0"), "row 3 committed after the offset was set ahead "
                    + "of the server's WAL: neither delivered nor a failure naming the offset; failure: " + failure);
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /**
     * A user's publication (publication.autocreate=disabled) that also publishes an uncaptured
     * table c referencing a: TRUNCATE a CASCADE (c with it) and TRUNCATE c, b in one statement,
     * each followed by new rows, then a restart from the committed offsets and one more row.
     * Expected: a and b each get their truncate record before the rows written after it, and
     * each table's live keys after its last truncate equal PostgreSQL's rows.
     */
    @Test
    void truncatesOfSeveralTablesWithCascadeAndAnUncapturedOneKeepTheirOrderAcrossARestart() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("wal_adv_truncs");
        String name = uniqueName("truncs");
        try {
            db.execute("CREATE TABLE a (id int PRIMARY KEY, n int)", "CREATE TABLE b (id int PRIMARY KEY, n int)",
                    "CREATE TABLE c (id int PRIMARY KEY, a_id int REFERENCES a)",
                    "INSERT INTO a VALUES (1, 0)", "INSERT INTO b VALUES (1, 0)", "INSERT INTO c VALUES (1, 1)",
                    "CREATE PUBLICATION " + name + " FOR TABLE a, b, c WITH (publish_via_partition_root = true)");
            Map<String, String> props = walProps(db, "public\\.(a|b)", name);
            props.put("publication.autocreate", "disabled");
            props.put("truncate.handling", "event");
            List<SourceRecord> records = new ArrayList<>();
            try (TaskHarness task = new TaskHarness(props).start()) {
                pollUntil(task, records, r -> r.stream().filter(x -> "r".equals(op(x))).count() == 2);
                db.execute("TRUNCATE a CASCADE", "INSERT INTO a VALUES (2, 2)", "INSERT INTO b VALUES (2, 2)",
                        "TRUNCATE c, b", "INSERT INTO b VALUES (3, 3)", "INSERT INTO c VALUES (5, 2)");
                pollUntil(task, records, r -> r.stream().filter(x -> "c".equals(op(x))).count() == 3);
                task.stop();
                db.execute("INSERT INTO a VALUES (4, 4)");
                task.start();
                pollUntil(task, records, r -> r.stream().filter(x -> "c".equals(op(x))).count() >= 4);
                pollFor(task, records, 1000);
            }
            for (String t : List.of("a", "b")) {
                List<SourceRecord> mine = records.stream().filter(r -> t.equals(table(r))).toList();
                int lastTruncate = -1;
                for (int i = 0; i < mine.size(); i++) {
                    if ("t".equals(op(mine.get(i)))) {
                        lastTruncate = i;
                    }
                }
                assertTrue(lastTruncate >= 0, t + " got a truncate record: " + mine);
                Map<Integer, Integer> last = lastPerKey(mine.subList(lastTruncate + 1, mine.size()));
                last.values().removeIf(v -> v == null);
                assertEquals(rows(db, t), last, t + "'s rows after its last truncate");
            }
            // Per table, in order; nothing delivered twice across the restart (every record polled was committed).
            assertEquals(List.of("r", "t", "c", "c"), records.stream().filter(r -> "a".equals(table(r))).map(
                    WalMidStreamAdversaryIT::op).toList(), "a: snapshot, TRUNCATE a CASCADE, 2, then 4 after the restart");
            assertEquals(List.of("r", "c", "t", "c"), records.stream().filter(r -> "b".equals(table(r))).map(
                    WalMidStreamAdversaryIT::op).toList(), "b: snapshot, 2, TRUNCATE c, b, 3");
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /**
     * key.columns naming a nullable unique column (REPLICA IDENTITY FULL, so the identity holds it).
     * A row inserted with that column NULL while streaming. Expected: validate() refuses the
     * nullable key naming the table, or the task fails naming it; never a record whose key is
     * null, which the snapshot would refuse to give.
     */
    @Test
    void aNullableKeyColumnIsRefusedOrItsNullNeverSent() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("wal_adv_null_key");
        String name = uniqueName("nullkey");
        try {
            db.execute("CREATE TABLE u (id int PRIMARY KEY, code int UNIQUE, n int)",
                    "ALTER TABLE u REPLICA IDENTITY FULL", "INSERT INTO u VALUES (1, 1, 0)");
            Map<String, String> props = walProps(db, "public\\.u", name);
            props.put("key.columns", "public.u:code");
            List<String> errors = new ArrayList<>();
            new dev.pgkeyset.connect.PgKeysetSourceConnector().validate(props).configValues()
                    .forEach(v -> v.errorMessages().forEach(e -> errors.add(v.name() + ": " + e)));
            if (errors.stream().anyMatch(e -> e.contains("public.u"))) {
                return;
            }
            List<SourceRecord> records = new ArrayList<>();
            Exception failure;
            try (TaskHarness task = new TaskHarness(props).start()) {
                pollUntil(task, records, r -> r.stream().anyMatch(x -> "r".equals(op(x))));
                db.execute("INSERT INTO u VALUES (2, NULL, 2)", "INSERT INTO u VALUES (3, 3, 3)");
                failure = pollFor(task, records, 4000);
            }
            boolean nullKeySent = records.stream().anyMatch(r -> r.key() == null || ((Struct) r.key()).get("code") == null);
            String message = failure == null ? "" : String.valueOf(failure.getMessage());
            assertTrue(!nullKeySent && message.contains("public.u"), "records " + records.stream().map(r -> op(r) + ":"
                    + r.key()).toList() + "; failure: " + failure);
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /**
     * In one transaction: an update that changes the key and leaves an out-of-line value unchanged,
     * then a delete of the new key; and an update leaving it unchanged followed by an update of
     * the key. Expected: each key's last record is a tombstone for every key PostgreSQL no longer
     * has, and the surviving row with its real value.
     */
    @Test
    void aKeyChangeThenADeleteInOneTransactionLeavesOnlyTombstones() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("wal_adv_key_del");
        String name = uniqueName("keydel");
        try {
            String big = "(SELECT string_agg(md5(i::text || g::text), '') FROM generate_series(1, 200) g)";
            db.execute("CREATE TABLE k (id int PRIMARY KEY, n int, v text)",
                    "ALTER TABLE k ALTER COLUMN v SET STORAGE EXTERNAL",
                    "INSERT INTO k SELECT i, 0, " + big + " FROM generate_series(1, 2) i");
            try (TaskHarness task = new TaskHarness(walProps(db, "public\\.k", name)).start()) {
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(),
                        r -> r.stream().filter(x -> "r".equals(op(x))).count() == 2);
                db.execute("BEGIN; UPDATE k SET id = 10 WHERE id = 1; DELETE FROM k WHERE id = 10;"
                        + " UPDATE k SET n = 5 WHERE id = 2; UPDATE k SET id = 20 WHERE id = 2; COMMIT");
                pollFor(task, records, 4000);
                Map<Integer, String> last = new HashMap<>();
                for (SourceRecord r : records) {
                    Struct v = (Struct) r.value();
                    last.put(((Struct) r.key()).getInt32("id"), v == null ? null : v.getInt32("n") + ":" + v.getString("v"));
                }
                Map<Integer, String> expected = new HashMap<>();
                expected.put(1, null);
                expected.put(2, null);
                expected.put(10, null);
                try (Connection c = db.connect(); Statement st = c.createStatement();
                     ResultSet rs = st.executeQuery("SELECT id, n, v FROM k")) {
                    while (rs.next()) {
                        expected.put(rs.getInt(1), rs.getInt(2) + ":" + rs.getString(3));
                    }
                }
                assertEquals(expected, last);
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }
}

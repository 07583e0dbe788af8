package dev.pgkeyset.connect.changes.wal;

import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.LOOK_AS_BY_DEFAULT;
import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.lookingEverySecond;
import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.pollFor;
import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.startAndPollFor;
import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.twoLooksAndMore;
import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.uniqueName;
import static dev.pgkeyset.connect.changes.wal.WalValuesIT.pollUntil;
import static dev.pgkeyset.connect.changes.wal.WalValuesIT.walProps;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.header.Header;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.record.TablePlan;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * Review of the partition watch (PartitionWatch, commit 5c96609): partition maintenance that the
 * look (catalog.check.interval.ms) can miss or misread. Each test holds the connector to its promise: each key's live
 * record equals PostgreSQL's row of p, or the task fails naming the partition. Table p: p1 [0,100)
 * with ids 1 and 2, p2 [100,200) with id 101; plain table p3 with 250 and 251.
 */
class WalPartitionReviewIT {

    private static final List<String> SETUP = WalMidStreamAdversaryIT.PARTITION_SETUP;
    /**
     * Cases whose DDL must fall within one look keep the default 5 s look (the others look every
     * second): a look between the statements would make them an easier case.
     */
    private static final String WITHIN_ONE_LOOK = PgKeysetConfig.CATALOG_CHECK_INTERVAL_MS;

    private static String op(SourceRecord record) {
        Header header = record.headers().lastWithName(TablePlan.OP_HEADER);
        return header == null ? null : String.valueOf(header.value());
    }

    /** Each key's live value from the records (a truncate record clears them all), in order. */
    static Map<Integer, Integer> live(List<SourceRecord> records) {
        return WalMidStreamAdversaryIT.liveAfterTruncates(records);
    }

    static Map<Integer, Integer> rows(TestDatabase db) throws Exception {
        Map<Integer, Integer> rows = new HashMap<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, n FROM p")) {
            while (rs.next()) {
                rows.put(rs.getInt(1), rs.getInt(2));
            }
        }
        return rows;
    }

    private record Outcome(List<SourceRecord> records, Exception failure, Map<Integer, Integer> rows) {
        String message() {
            return failure == null ? "" : String.valueOf(failure.getMessage());
        }

        /** The promise: the topic equals the table, or a failure that names {@code partition}. */
        void assertTopicEqualsTableOrFailureNames(String partition, String what) {
            Map<Integer, Integer> live = live(records);
            assertTrue(rows.equals(live) || message().contains(partition),
                    what + ": live records per key " + live + ", PostgreSQL's rows of p " + rows
                            + "; expected them equal or a failure naming " + partition + "; failure: " + failure);
        }
    }

    /** The snapshot's three rows arrive, {@code ddl} runs (then INSERT id 3), the task is polled for two looks and more. */
    private static Outcome whileStreaming(String purpose, List<String> extraSetup, List<String> ddl,
                                          Map<String, String> extra) throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("wal_prv_" + purpose);
        String name = uniqueName(purpose);
        try {
            db.execute(SETUP.toArray(String[]::new));
            db.execute(extraSetup.toArray(String[]::new));
            Map<String, String> props = walProps(db, "public\\.p", name);
            props.putAll(extra);
            lookingEverySecond(props);
            try (TaskHarness task = new TaskHarness(props).start()) {
                int snapshotRows = rows(db).size();
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(),
                        r -> r.stream().filter(x -> "r".equals(op(x))).count() == snapshotRows);
                pollFor(task, records, 1500);
                db.execute(ddl.toArray(String[]::new));
                db.execute("INSERT INTO p VALUES (3, 3)");
                Exception failure = pollFor(task, records, twoLooksAndMore(props));
                return new Outcome(records, failure, rows(db));
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /** The snapshot arrives and a change is streamed, the task stops, {@code ddl} runs, the task starts again. */
    private static Outcome whileDown(String purpose, List<String> ddl, Map<String, String> extra) throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("wal_prv_" + purpose);
        String name = uniqueName(purpose);
        try {
            db.execute(SETUP.toArray(String[]::new));
            Map<String, String> props = walProps(db, "public\\.p", name);
            props.putAll(extra);
            lookingEverySecond(props);
            try (TaskHarness task = new TaskHarness(props).start()) {
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(),
                        r -> r.stream().filter(x -> "r".equals(op(x))).count() == 3);
                db.execute("INSERT INTO p VALUES (4, 4)");
                pollUntil(task, records, r -> r.stream().anyMatch(x -> "c".equals(op(x))));
                task.stop();
                db.execute(ddl.toArray(String[]::new));
                db.execute("INSERT INTO p VALUES (3, 3)");
                Exception failure = startAndPollFor(task, records, twoLooksAndMore(props));
                return new Outcome(records, failure, rows(db));
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    // ---- attacks expected to break ----

    /**
     * DETACH p1, change its rows while detached (not streamed), ATTACH it again, all inside one 5 s
     * look: same OID, same file, so the two looks see the same leaves. The topic keeps id 1 = 0
     * and id 2 live; PostgreSQL has id 1 = 9 and no id 2.
     */
    @Test
    void detachChangeAndReattachWithinOneLook() throws Exception {
        whileStreaming("reattach", List.of(), List.of("ALTER TABLE p DETACH PARTITION p1",
                        "UPDATE p1 SET n = 9 WHERE id = 1", "DELETE FROM p1 WHERE id = 2",
                        "ALTER TABLE p ATTACH PARTITION p1 FOR VALUES FROM (0) TO (100)"),
                Map.of("truncate.handling", "fail", WITHIN_ONE_LOOK, LOOK_AS_BY_DEFAULT))
                .assertTopicEqualsTableOrFailureNames("public.p1", "DETACH p1, UPDATE/DELETE in p1, ATTACH p1");
    }

    /** The same while no task runs: the offset's fingerprint (OID, file) is equal to the catalog's. */
    @Test
    void detachChangeAndReattachWhileNoTaskRuns() throws Exception {
        whileDown("reattach_down", List.of("ALTER TABLE p DETACH PARTITION p1",
                        "UPDATE p1 SET n = 9 WHERE id = 1", "DELETE FROM p1 WHERE id = 2",
                        "ALTER TABLE p ATTACH PARTITION p1 FOR VALUES FROM (0) TO (100)"),
                Map.of("truncate.handling", "fail"))
                .assertTopicEqualsTableOrFailureNames("public.p1", "while down: DETACH p1, UPDATE/DELETE, ATTACH p1");
    }

    /**
     * TRUNCATE p1 then ANALYZE p1 (or autovacuum, or a plain VACUUM) before the look: reltuples is
     * 0, no longer -1, so the new file is taken for VACUUM FULL/CLUSTER.
     */
    @Test
    void truncateOfAPartitionFollowedByAnalyzeBeforeTheLook() throws Exception {
        whileStreaming("trunc_analyze", List.of(), List.of("TRUNCATE p1", "ANALYZE p1"),
                Map.of("truncate.handling", "fail", WITHIN_ONE_LOOK, LOOK_AS_BY_DEFAULT))
                .assertTopicEqualsTableOrFailureNames("public.p1", "TRUNCATE p1; ANALYZE p1");
    }

    /** The same while no task runs (where autovacuum has all the time it needs). */
    @Test
    void truncateOfAPartitionAndVacuumWhileNoTaskRuns() throws Exception {
        whileDown("trunc_vac_down", List.of("TRUNCATE p1", "VACUUM p1"), Map.of("truncate.handling", "fail"))
                .assertTopicEqualsTableOrFailureNames("public.p1", "while down: TRUNCATE p1; VACUUM p1");
    }

    /**
     * A partition created, filled (streamed: ids 350, 351 reach the topic) and detached inside one
     * look: both looks see p1 and p2 only. The topic keeps 350 and 351 live; p has neither.
     */
    @Test
    @org.junit.jupiter.api.Disabled("a known limit, in the README: a look every 5 s cannot see partition DDL whose "
            + "net effect between two looks is nothing (here the partition's streamed rows stay live in the topic)")
    void partitionCreatedFilledAndDetachedWithinOneLook() throws Exception {
        whileStreaming("create_detach", List.of(), List.of(
                        "CREATE TABLE p4 PARTITION OF p FOR VALUES FROM (300) TO (400)",
                        "INSERT INTO p VALUES (350, 1), (351, 1)", "ALTER TABLE p DETACH PARTITION p4"),
                Map.of("truncate.handling", "fail", WITHIN_ONE_LOOK, LOOK_AS_BY_DEFAULT))
                .assertTopicEqualsTableOrFailureNames("public.p4", "CREATE p4 PARTITION OF p, INSERT, DETACH p4");
    }

    /**
     * CREATE TABLE, INSERT and ATTACH in one transaction: the rows' xmin equals the pg_inherits
     * link's, so they do not count as "older than the attachment"; pgoutput decodes the INSERT
     * with the catalog as it was then (p5 not yet a partition of a published table).
     */
    @Test
    void tableCreatedFilledAndAttachedInOneTransaction() throws Exception {
        whileStreaming("same_xact", List.of(), List.of("DO $$ BEGIN "
                        + "CREATE TABLE p5 (id int PRIMARY KEY, n int); "
                        + "INSERT INTO p5 VALUES (450, 5), (451, 5); "
                        + "ALTER TABLE p ATTACH PARTITION p5 FOR VALUES FROM (400) TO (500); END $$"), Map.of())
                .assertTopicEqualsTableOrFailureNames("public.p5", "one transaction: CREATE p5, INSERT, ATTACH");
    }

    /**
     * TRUNCATE naming every leaf (TRUNCATE p1, p2) empties the whole table, but pgoutput sends
     * nothing (each is a partition published through its root) and the watch only warns under
     * truncate.handling=event: the topic keeps every row although the table is empty.
     */
    @Test
    void truncateNamingEveryLeafUnderTruncateHandlingEventIsWarnedAboutPartitionByPartition() throws Exception {
        String log = stderrOf(() -> whileStreaming("trunc_leaves", List.of(), List.of("TRUNCATE p1, p2"),
                Map.of("truncate.handling", "event")));
        assertTrue(warnsOfTruncatedP1(log) && log.lines().anyMatch(l -> l.contains("WARN")
                && l.contains("partition public.p2") && l.contains("was truncated")),
                "TRUNCATE p1, p2 under event: a warning for each partition (documented; no truncate record)");
    }

    /**
     * A connector role with what the docs ask for (SELECT on the captured table p, REPLICATION, a
     * publication made for it): a routine CREATE TABLE ... PARTITION OF p by the owner. The look
     * reads the new leaf directly (SELECT ... FROM ONLY p4), which needs SELECT on p4 itself; the
     * look's SQLException is only warned about (as a failed metrics sample) and the look is retried
     * with the same old leaves forever, so a later DETACH p2 under truncate.handling=fail is never
     * acted on.
     */
    @Test
    void aNewPartitionUnderARoleThatMaySelectOnlyTheRootBlindsTheWatch() throws Exception {
        roleCase();
    }

    /** The role case: its own role (dropped after), a publication made by the owner, autocreate disabled. */
    private static void roleCase() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("wal_prv_role");
        String name = uniqueName("role");
        String role = name + "_r";
        try {
            db.execute(SETUP.toArray(String[]::new));
            db.execute("CREATE ROLE " + role + " LOGIN REPLICATION",
                    "GRANT SELECT ON p TO " + role,
                    "CREATE PUBLICATION " + name + " FOR TABLE p WITH (publish_via_partition_root = true)");
            Map<String, String> props = walProps(db, "public\\.p", name);
            props.put("connection.user", role);
            props.remove("connection.password");
            props.put("publication.autocreate", "disabled");
            props.put("truncate.handling", "fail");
            lookingEverySecond(props);
            try (TaskHarness task = new TaskHarness(props).start()) {
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(),
                        r -> r.stream().filter(x -> "r".equals(op(x))).count() == 3);
                pollFor(task, records, 1500);
                db.execute("CREATE TABLE p4 PARTITION OF p FOR VALUES FROM (300) TO (400)",
                        "INSERT INTO p VALUES (350, 1)");
                Exception failure = pollFor(task, records, twoLooksAndMore(props));
                if (failure == null) {
                    db.execute("ALTER TABLE p DETACH PARTITION p2"); // truncate.handling=fail: must fail naming p2
                    failure = pollFor(task, records, twoLooksAndMore(props));
                }
                String message = failure == null ? "" : String.valueOf(failure.getMessage());
                assertTrue(message.contains("p4") && message.contains("GRANT SELECT"), "role with SELECT on p "
                        + "only: CREATE TABLE p4 PARTITION OF p must fail the task naming p4 and the grant, not leave "
                        + "the watch blind; failure: " + failure);
            }
        } finally {
            try {
                WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
            } finally {
                try (Connection c = java.sql.DriverManager.getConnection(
                        db.jdbcUrl().replace("/" + db.name(), "/postgres"), db.user(), db.password());
                     Statement st = c.createStatement()) {
                    st.execute("DROP ROLE IF EXISTS " + role);
                }
            }
        }
    }

    // ---- attacks expected to hold ----

    /** ATTACH of p3 with rows, every row updated at once: streamed as updates; the topic has them all. */
    @Test
    void attachWithRowsAllUpdatedRightAfter() throws Exception {
        whileStreaming("attach_upd_all", List.of(), List.of(
                        "ALTER TABLE p ATTACH PARTITION p3 FOR VALUES FROM (200) TO (300)",
                        "UPDATE p SET n = 8 WHERE id >= 250"), Map.of())
                .assertTopicEqualsTableOrFailureNames("public.p3", "ATTACH p3; UPDATE every row of p3");
    }

    @Test
    void attachWithRowsSomeUpdatedRightAfter() throws Exception {
        whileStreaming("attach_upd_some", List.of(), List.of(
                        "ALTER TABLE p ATTACH PARTITION p3 FOR VALUES FROM (200) TO (300)",
                        "UPDATE p SET n = 8 WHERE id = 250"), Map.of())
                .assertTopicEqualsTableOrFailureNames("public.p3", "ATTACH p3; UPDATE 250 only");
    }

    /** ATTACH of a partitioned table whose leaf holds rows. */
    @Test
    void attachOfASubPartitionedTableWithRows() throws Exception {
        whileStreaming("attach_sub", List.of(
                        "CREATE TABLE s (id int PRIMARY KEY, n int) PARTITION BY RANGE (id)",
                        "CREATE TABLE s1 PARTITION OF s FOR VALUES FROM (500) TO (600)",
                        "INSERT INTO s VALUES (550, 5)"),
                List.of("ALTER TABLE p ATTACH PARTITION s FOR VALUES FROM (500) TO (700)"), Map.of())
                .assertTopicEqualsTableOrFailureNames("public.s1", "ATTACH of sub-partitioned s with rows in s1");
    }

    /** DETACH of a sub-root (its leaf holds id 550, in the topic since the snapshot). */
    @Test
    void detachOfASubRoot() throws Exception {
        whileStreaming("detach_sub", List.of(
                        "CREATE TABLE s PARTITION OF p FOR VALUES FROM (500) TO (700) PARTITION BY RANGE (id)",
                        "CREATE TABLE s1 PARTITION OF s FOR VALUES FROM (500) TO (600)",
                        "INSERT INTO p VALUES (550, 5)"),
                List.of("ALTER TABLE p DETACH PARTITION s"), Map.of("truncate.handling", "fail"))
                .assertTopicEqualsTableOrFailureNames("public.s1", "DETACH of sub-root s");
    }

    @Test
    void detachOfTheDefaultPartition() throws Exception {
        whileStreaming("detach_default", List.of("CREATE TABLE pd PARTITION OF p DEFAULT",
                        "INSERT INTO p VALUES (900, 9)"),
                List.of("ALTER TABLE p DETACH PARTITION pd"), Map.of("truncate.handling", "fail"))
                .assertTopicEqualsTableOrFailureNames("public.pd", "DETACH of the DEFAULT partition");
    }

    @Test
    void detachConcurrently() throws Exception {
        whileStreaming("detach_conc", List.of(), List.of("ALTER TABLE p DETACH PARTITION p2 CONCURRENTLY"),
                Map.of("truncate.handling", "fail"))
                .assertTopicEqualsTableOrFailureNames("public.p2", "DETACH p2 CONCURRENTLY");
    }

    /**
     * p2 detached and renamed away, another table with rows attached as p2 within one look. Under
     * truncate.handling=fail the detach fails the task; under the default (event), the detached
     * p2's row stays live with a warning (as any DETACH) and the new p2's row is copied.
     */
    @Test
    void partitionReplacedByAnotherTableOfTheSameName() throws Exception {
        List<String> ddl = List.of("ALTER TABLE p DETACH PARTITION p2",
                "ALTER TABLE p2 RENAME TO p2_old", "CREATE TABLE p2 (id int PRIMARY KEY, n int)",
                "INSERT INTO p2 VALUES (150, 1)",
                "ALTER TABLE p ATTACH PARTITION p2 FOR VALUES FROM (100) TO (200)");
        whileStreaming("replace", List.of(), ddl, Map.of(WITHIN_ONE_LOOK, LOOK_AS_BY_DEFAULT, "truncate.handling",
                "fail")).assertTopicEqualsTableOrFailureNames("public.p2", "DETACH p2, ATTACH another table named p2");
        Outcome warned = whileStreaming("replace_event", List.of(), ddl, Map.of(WITHIN_ONE_LOOK, LOOK_AS_BY_DEFAULT));
        Map<Integer, Integer> expected = new HashMap<>(warned.rows());
        expected.put(101, 0); // the detached p2's row (documented: a DETACH under event leaves its rows live)
        org.junit.jupiter.api.Assertions.assertEquals(expected, live(warned.records()),
                "the new p2's row copied, the old one's left live; failure: " + warned.failure());
    }

    /**
     * The remedy path, then more DDL: p1 detached, changed and attached again within one look
     * fails the task (what changed while it was out is not in the WAL, deletes included); the
     * table's offset is deleted and the task snapshots p again (passing over the old message);
     * then TRUNCATE p2 under truncate.handling=fail must still fail the task (a message of this run).
     */
    @Test
    void remedyThenFurtherPartitionDdl() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("wal_prv_remedy");
        String name = uniqueName("remedy");
        try {
            db.execute(SETUP.toArray(String[]::new));
            Map<String, String> props = walProps(db, "public\\.p", name);
            props.put("truncate.handling", "fail");
            lookingEverySecond(props);
            try (TaskHarness task = new TaskHarness(props).start()) {
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(),
                        r -> r.stream().filter(x -> "r".equals(op(x))).count() == 3);
                db.execute("ALTER TABLE p DETACH PARTITION p1", "UPDATE p1 SET n = 9 WHERE id = 1",
                        "DELETE FROM p1 WHERE id = 2", "ALTER TABLE p ATTACH PARTITION p1 FOR VALUES FROM (0) TO (100)");
                // Detached and attached again within one look, or (a look between the statements)
                // detached under truncate.handling=fail: either fails the task naming p1.
                Exception first = pollFor(task, records, twoLooksAndMore(props));
                assertTrue(first != null && String.valueOf(first.getMessage()).contains("public.p1")
                        && String.valueOf(first.getMessage()).contains("detached"), "" + first);
                task.stop();
                assertTrue(task.committed().remove(Map.of("table", "public.p")) != null, "p had an offset");
                Exception remedied = startAndPollFor(task, records, twoLooksAndMore(props));
                assertTrue(remedied == null, "after the offset was deleted: " + remedied);
                db.execute("TRUNCATE p2", "INSERT INTO p VALUES (3, 3)");
                Exception failure = pollFor(task, records, twoLooksAndMore(props));
                new Outcome(records, failure, rows(db)).assertTopicEqualsTableOrFailureNames("public.p2",
                        "remedied ATTACH, then TRUNCATE p2 (fail)");
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /** Runs {@code body} with System.err (where slf4j-simple writes) also copied into the returned text. */
    private static String stderrOf(ThrowingRunnable body) throws Exception {
        java.io.PrintStream original = System.err;
        java.io.ByteArrayOutputStream copy = new java.io.ByteArrayOutputStream();
        java.io.PrintStream tee = new java.io.PrintStream(new java.io.OutputStream() {
            @Override
            public void write(int b) {
                original.write(b);
                synchronized (copy) {
                    copy.write(b);
                }
            }

            @Override
            public void write(byte[] b, int off, int len) {
                original.write(b, off, len);
                synchronized (copy) {
                    copy.write(b, off, len);
                }
            }
        }, true);
        System.setErr(tee);
        try {
            body.run();
        } finally {
            System.setErr(original);
        }
        synchronized (copy) {
            return copy.toString(java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    private static boolean warnsOfTruncatedP1(String log) {
        return log.lines().anyMatch(l -> l.contains("WARN") && l.contains("partition public.p1")
                && l.contains("was truncated"));
    }

    /** Control for the next test: TRUNCATE p1 alone under event is warned about (the documented outcome). */
    @Test
    void truncateOfOnePartitionUnderEventIsWarnedAbout() throws Exception {
        String log = stderrOf(() -> whileStreaming("trunc_warn", List.of(), List.of("TRUNCATE p1"),
                Map.of("truncate.handling", "event")));
        assertTrue(warnsOfTruncatedP1(log), "a warning naming public.p1 as truncated");
    }

    /**
     * TRUNCATE p (streamed as a truncate record), INSERT id 5 into p1 (streamed), TRUNCATE p1 (not
     * streamed), inside one look: the look sees p1's new file once, the message comes after the
     * whole-table truncate, whose flag makes the watch pass over p1 as "that truncate". The topic
     * keeps id 5 (as documented for a partition truncate under event), but without the warning.
     */
    @Test
    void wholeTableTruncateThenAPartitionTruncateWithinOneLookIsWarnedAbout() throws Exception {
        Outcome[] outcome = new Outcome[1];
        String log = stderrOf(() -> outcome[0] = whileStreaming("trunc_flag", List.of(), List.of("TRUNCATE p",
                "INSERT INTO p VALUES (5, 5)", "TRUNCATE p1"),
                Map.of("truncate.handling", "event", WITHIN_ONE_LOOK, LOOK_AS_BY_DEFAULT)));
        assertTrue(warnsOfTruncatedP1(log), "TRUNCATE p; INSERT 5; TRUNCATE p1 (event): live " + live(outcome[0].records())
                + ", rows " + outcome[0].rows() + "; expected a warning naming public.p1 as truncated, none logged");
    }

    /**
     * TRUNCATE of a partition that has never held a row (p4, created empty before the task):
     * the topic equals the table before and after, yet truncate.handling=fail fails the task
     * (a new file with reltuples -1 reads as "truncated" whatever it held).
     */
    @Test
    void truncateOfAnEmptyPartitionUnderFailFailsOnTheSafeSideSayingRowsMayRemain() throws Exception {
        Outcome outcome = whileStreaming("trunc_empty",
                List.of("CREATE TABLE p4 PARTITION OF p FOR VALUES FROM (300) TO (400)"), List.of("TRUNCATE p4"),
                Map.of("truncate.handling", "fail"));
        assertTrue(outcome.message().contains("public.p4") && outcome.message().contains("may still hold"),
                "TRUNCATE of the never-filled p4 under fail (a truncate cannot be told from a rewrite of an empty "
                        + "partition): failure: " + outcome.failure());
    }
}

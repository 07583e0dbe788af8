package dev.pgkeyset.connect.changes.wal;

import static dev.pgkeyset.connect.changes.wal.WalValuesIT.count;
import static dev.pgkeyset.connect.changes.wal.WalValuesIT.pollUntil;
import static dev.pgkeyset.connect.changes.wal.WalValuesIT.uniqueName;
import static dev.pgkeyset.connect.changes.wal.WalValuesIT.walProps;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
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

import dev.pgkeyset.connect.record.TablePlan;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/** Adversarial checks of capture.mode=wal streams: hand-made publication changes, TOAST, settings. */
class WalEdgeCasesIT {

    private static String header(SourceRecord record, String name) {
        Header header = record.headers().lastWithName(name);
        return header == null ? null : String.valueOf(header.value());
    }

    private static String table(SourceRecord record) {
        return record.topic().substring(record.topic().lastIndexOf('.') + 1);
    }

    /**
     * README: "A publication dropped or altered by hand: a clear error naming it." A table taken
     * out of the connector's publication by hand while streaming: its later changes must arrive
     * or the task must fail naming the publication, never be skipped in silence while the other
     * table's later changes flow.
     */
    @Test
    void aTableTakenOutOfThePublicationByHandIsNotSkippedInSilence() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("adv_b_pub_alter");
        String name = uniqueName("pubalter");
        try {
            db.execute("CREATE TABLE a (id int PRIMARY KEY)", "CREATE TABLE b (id int PRIMARY KEY)",
                    "INSERT INTO a VALUES (1)", "INSERT INTO b VALUES (1)");
            try (TaskHarness task = new TaskHarness(walProps(db, "public\\.(a|b)", name)).start()) {
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(), r -> count(r, "r") == 2);
                db.execute("INSERT INTO b VALUES (2)");
                pollUntil(task, records, r -> count(r, "c") == 1);
                db.execute("ALTER PUBLICATION " + name + " DROP TABLE b");
                db.execute("INSERT INTO b VALUES (3)", "INSERT INTO a VALUES (3)");
                Exception failure = null;
                try {
                    pollUntil(task, records, r -> r.stream().anyMatch(x -> "a".equals(table(x))
                            && "c".equals(header(x, TablePlan.OP_HEADER))));
                    // a's insert (after b's) arrived: give b's 7 s of polls (the publication is looked at every 5 s).
                    long until = System.currentTimeMillis() + 7000;
                    while (System.currentTimeMillis() < until) {
                        List<SourceRecord> batch = task.poll();
                        if (batch != null) {
                            records.addAll(batch);
                        }
                    }
                } catch (Exception e) {
                    failure = e;
                }
                boolean bArrived = records.stream().anyMatch(x -> "b".equals(table(x))
                        && ((Struct) x.value()) != null && ((Struct) x.value()).getInt32("id") == 3);
                boolean namedError = failure != null && String.valueOf(failure.getMessage()).contains(name);
                assertTrue(bArrived || namedError, "b's insert after the publication was altered by hand neither "
                        + "arrived nor failed the task naming publication " + name + " (failure: " + failure + ")");
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /**
     * An out-of-line value left unchanged by an update that also changes the key (REPLICA
     * IDENTITY DEFAULT), and one under REPLICA IDENTITY FULL: each arrives with the row's real
     * value, as PostgreSQL has it.
     */
    @Test
    void unchangedToastValuesOfAKeyChangeAndUnderReplicaIdentityFullArriveWhole() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("adv_b_toast");
        String name = uniqueName("toast");
        try {
            // md5 chains do not compress: well past the 2 KB TOAST threshold, stored out of line.
            String big = "(SELECT string_agg(md5(i::text || g::text), '') FROM generate_series(1, 300) g)";
            db.execute("CREATE TABLE d (id int PRIMARY KEY, n int, big text)",
                    "CREATE TABLE f (id int PRIMARY KEY, n int, big text)",
                    "ALTER TABLE f REPLICA IDENTITY FULL",
                    "INSERT INTO d SELECT i, 0, " + big + " FROM generate_series(1, 3) i",
                    "INSERT INTO f SELECT i, 0, " + big + " FROM generate_series(1, 3) i");
            assertTrue(db.queryLong("SELECT pg_total_relation_size(reltoastrelid) FROM pg_class WHERE relname = 'd'")
                    > 16384, "values stored out of line");
            try (TaskHarness task = new TaskHarness(walProps(db, "public\\.(d|f)", name)).start()) {
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(), r -> count(r, "r") == 6);
                records.clear();
                db.execute("UPDATE d SET id = id + 100, n = 1 WHERE id = 1", "UPDATE d SET n = 2 WHERE id = 2",
                        "UPDATE f SET id = id + 100, n = 1 WHERE id = 1", "UPDATE f SET n = 2 WHERE id = 2");
                pollUntil(task, records, r -> count(r, "u") == 4);
                Map<String, String> expected = new HashMap<>();
                try (Connection c = db.connect(); Statement st = c.createStatement();
                     ResultSet rs = st.executeQuery("SELECT 'd', id, big FROM d UNION ALL SELECT 'f', id, big FROM f")) {
                    while (rs.next()) {
                        expected.put(rs.getString(1) + rs.getInt(2), rs.getString(3));
                    }
                }
                List<String> mismatches = new ArrayList<>();
                for (SourceRecord r : records) {
                    if (!"u".equals(header(r, TablePlan.OP_HEADER))) {
                        continue;
                    }
                    Struct v = (Struct) r.value();
                    String key = table(r) + v.getInt32("id");
                    if (!expected.get(key).equals(v.getString("big"))) {
                        mismatches.add(key + ": big " + (v.getString("big") == null ? "null"
                                : v.getString("big").length() + " chars") + ", unavailable="
                                + header(r, "pgkeyset.unavailable"));
                    }
                    assertNull(header(r, "pgkeyset.unavailable"), key);
                }
                assertTrue(mismatches.isEmpty(), String.join("\n", mismatches));
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /**
     * numeric.mapping=string and time.precision.mode=micros / string: the WAL record of a copy of
     * a row equals the snapshot record of the row (special values: NaN, ±infinity, BC, 24:00).
     */
    @Test
    void walRecordsEqualSnapshotRecordsUnderOtherMappings() throws Exception {
        for (String[] setting : new String[][] {{"string", "micros"}, {"double", "string"}, {"precise", "micros"}}) {
            TestDatabase db = PostgresFixture.createDatabase("adv_b_settings");
            String name = uniqueName("settings");
            try {
                db.execute("CREATE TABLE s (id int PRIMARY KEY, n numeric(10,3), nf numeric, r real, d float8,"
                                + " dt date, tm time, tz timetz, ts timestamp, tstz timestamptz, iv interval,"
                                + " ats timestamp[], an numeric[])",
                        "INSERT INTO s VALUES (1, 'NaN', '-0.000100', '-0', '-Infinity', 'infinity', '24:00:00',"
                                + " '24:00:00+14', 'infinity', '-infinity', '-1 year -2 mons +3 days -04:05:06.5',"
                                + " '{infinity,\"0001-01-01 00:00:00 BC\",NULL}', '{NaN,1.50,NULL,-Infinity}'),"
                                + " (2, 1.5, 'Infinity', 'NaN', '1e-300', '0044-03-15 BC', '00:00:00.000001',"
                                + " '00:00:00-15:59', '0044-03-15 12:34:56.789012 BC', '2262-04-11 23:47:16.854776+00',"
                                + " '178000000 years', '{}', '{}'),"
                                + " (3, NULL, NULL, 3.4028235e38, 2.2250738585072014e-308, '5874897-12-31',"
                                + " '23:59:59.999999', NULL, '294276-12-31 23:59:59.999999', '1970-01-01 00:00:00.000001+00',"
                                + " NULL, NULL, '{1,2}')");
                Map<String, String> props = walProps(db, "public\\.s", name);
                props.put("numeric.mapping", setting[0]);
                props.put("time.precision.mode", setting[1]);
                try (TaskHarness task = new TaskHarness(props).start()) {
                    List<SourceRecord> records = pollUntil(task, new ArrayList<>(), r -> count(r, "r") == 3);
                    db.execute("INSERT INTO s SELECT id + 100, n, nf, r, d, dt, tm, tz, ts, tstz, iv, ats, an FROM s");
                    pollUntil(task, records, r -> count(r, "c") == 3);
                    Map<Integer, Struct> snapshot = new HashMap<>();
                    Map<Integer, Struct> wal = new HashMap<>();
                    for (SourceRecord r : records) {
                        Struct v = (Struct) r.value();
                        ("r".equals(header(r, TablePlan.OP_HEADER)) ? snapshot : wal).put(v.getInt32("id") % 100, v);
                    }
                    List<String> mismatches = new ArrayList<>();
                    for (int id = 1; id <= 3; id++) {
                        for (org.apache.kafka.connect.data.Field field : snapshot.get(id).schema().fields()) {
                            if (field.name().equals("id")) {
                                continue;
                            }
                            Object s = snapshot.get(id).get(field);
                            Object w = wal.get(id).get(field.name());
                            if (!java.util.Objects.deepEquals(s, w) && !String.valueOf(s).equals(String.valueOf(w))) {
                                mismatches.add(String.join("/", setting) + " row " + id + " " + field.name()
                                        + ": snapshot " + s + ", WAL " + w);
                            }
                        }
                    }
                    assertTrue(mismatches.isEmpty(), String.join("\n", mismatches));
                    assertEquals(snapshot.get(1).schema(), wal.get(1).schema());
                }
            } finally {
                WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
            }
        }
    }

    /**
     * A backlog written before the task (re)starts: a row inserted with a NULL, then the NULL
     * updated away and the column made NOT NULL. The insert's record must carry the NULL
     * PostgreSQL stored then (the catalog's NOT NULL is newer than that change), and the stream
     * must go on to the update, instead of failing on it at every start.
     */
    @Test
    void aNullWrittenBeforeTheColumnBecameNotNullStillStreams() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("adv_b_notnull");
        String name = uniqueName("notnull");
        try {
            db.execute("CREATE TABLE t (id int PRIMARY KEY, a int)");
            Map<String, String> props = walProps(db, "public\\.t", name);
            props.put("snapshot.mode", "never");
            try (TaskHarness task = new TaskHarness(props).start()) {
                // Until the stream is open (the slot and publication exist once started).
                long until = System.currentTimeMillis() + 30_000;
                while (db.queryLong("SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name = '"
                        + name + "'") == 0 && System.currentTimeMillis() < until) {
                    task.poll();
                }
            }
            db.execute("INSERT INTO t VALUES (2, NULL)");
            String atInsert = String.valueOf(db.queryLong("SELECT count(*) FROM t WHERE id = 2 AND a IS NULL"));
            assertEquals("1", atInsert, "PostgreSQL stored the NULL");
            db.execute("UPDATE t SET a = 0 WHERE id = 2", "ALTER TABLE t ALTER COLUMN a SET NOT NULL");
            try (TaskHarness task = new TaskHarness(props).start()) {
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(),
                        r -> count(r, "c") == 1 && count(r, "u") == 1);
                Struct inserted = (Struct) records.stream().filter(r -> "c".equals(header(r, TablePlan.OP_HEADER)))
                        .findFirst().orElseThrow().value();
                Struct updated = (Struct) records.stream().filter(r -> "u".equals(header(r, TablePlan.OP_HEADER)))
                        .findFirst().orElseThrow().value();
                assertNull(inserted.get("a"), "the insert's a");
                records.forEach(WalEdgeCasesIT::serializeAsTheWorker);
                assertEquals(db.queryLong("SELECT a FROM t WHERE id = 2"), ((Number) updated.get("a")).longValue());
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /** What a worker's JsonConverter (schemas on) does with the record: it validates value against schema. */
    static void serializeAsTheWorker(SourceRecord record) {
        try (org.apache.kafka.connect.json.JsonConverter json = new org.apache.kafka.connect.json.JsonConverter()) {
            json.configure(Map.of("schemas.enable", "true"), false);
            json.fromConnectData(record.topic(), record.valueSchema(), record.value());
        }
    }

    /**
     * The documented pgkeyset.unavailable case (an unchanged TOAST value whose row is deleted
     * before it is fetched) for a NOT NULL column: the record must still be one a worker can
     * write (the header names the column, the field is null).
     */
    @Test
    void anUnavailableToastValueOfANotNullColumnGivesAWritableRecord() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("adv_b_unavail");
        String name = uniqueName("unavail");
        try {
            String big = "(SELECT string_agg(md5(i::text || g::text), '') FROM generate_series(1, 300) g)";
            db.execute("CREATE TABLE d (id int PRIMARY KEY, n int, big text NOT NULL)",
                    "INSERT INTO d SELECT i, 0, " + big + " FROM generate_series(1, 2) i");
            try (TaskHarness task = new TaskHarness(walProps(db, "public\\.d", name)).start()) {
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(), r -> count(r, "r") == 2);
                records.clear();
                // No poll between: the update's unchanged value is fetched after the row is gone.
                db.execute("UPDATE d SET n = 1 WHERE id = 2", "DELETE FROM d WHERE id = 2");
                pollUntil(task, records, r -> count(r, "u") == 1 && count(r, "d") == 1);
                SourceRecord update = records.stream().filter(r -> "u".equals(header(r, TablePlan.OP_HEADER)))
                        .findFirst().orElseThrow();
                assertEquals("big", header(update, "pgkeyset.unavailable"));
                assertNull(((Struct) update.value()).get("big"));
                assertEquals(0, db.queryLong("SELECT count(*) FROM d WHERE id = 2"), "the row is gone");
                records.forEach(WalEdgeCasesIT::serializeAsTheWorker);
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /**
     * A stored generated column (PostgreSQL 15's pgoutput does not send generated columns): the
     * WAL records of inserted and updated rows hold the same fields and values as the snapshot's
     * record of the row, and as PostgreSQL computes (g = a * 2).
     */
    @Test
    void aGeneratedColumnArrivesFromTheWalAsInTheSnapshot() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("adv_b_generated");
        String name = uniqueName("generated");
        try {
            db.execute("CREATE TABLE g (id int PRIMARY KEY, a int, g int GENERATED ALWAYS AS (a * 2) STORED, z text)",
                    "INSERT INTO g (id, a, z) VALUES (1, 10, 'one')");
            try (TaskHarness task = new TaskHarness(walProps(db, "public\\.g", name)).start()) {
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(), r -> count(r, "r") == 1);
                db.execute("INSERT INTO g (id, a, z) VALUES (2, 20, 'two')", "UPDATE g SET a = 11 WHERE id = 1");
                pollUntil(task, records, r -> count(r, "c") == 1 && count(r, "u") == 1);
                List<String> mismatches = new ArrayList<>();
                Struct snapshot = (Struct) records.get(0).value();
                for (SourceRecord r : records) {
                    Struct v = (Struct) r.value();
                    if (!snapshot.schema().fields().stream().map(f -> f.name()).toList()
                            .equals(v.schema().fields().stream().map(f -> f.name()).toList())) {
                        mismatches.add(header(r, TablePlan.OP_HEADER) + ": fields " + v.schema().fields()
                                + ", snapshot " + snapshot.schema().fields());
                        continue;
                    }
                    // The snapshot read row 1 before its update (a = 10): PostgreSQL computed 20 then.
                    long expected = "r".equals(header(r, TablePlan.OP_HEADER)) ? db.queryLong("SELECT 10 * 2")
                            : db.queryLong("SELECT g FROM g WHERE id = " + v.getInt32("id"));
                    if (v.get("g") == null || ((Number) v.get("g")).longValue() != expected) {
                        mismatches.add(header(r, TablePlan.OP_HEADER) + " row " + v.getInt32("id") + ": g " + v.get("g")
                                + ", PostgreSQL " + expected);
                    }
                }
                assertTrue(mismatches.isEmpty(), String.join("\n", mismatches));
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /**
     * The walsender terminated while a 30,000-row transaction is half delivered: after the
     * reconnect every row arrives, none twice (the slot sends the transaction again from its
     * start; what was already produced is skipped by offset).
     */
    @Test
    void aWalsenderTerminatedInTheMiddleOfALargeTransactionLosesAndRepeatsNothing() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("adv_b_bigtx");
        String name = uniqueName("bigtx");
        int rows = 30_000;
        try {
            db.execute("CREATE TABLE t (id int PRIMARY KEY, v text)");
            Map<String, String> props = walProps(db, "public\\.t", name);
            props.put("snapshot.mode", "never");
            props.put("batch.max.rows", "500");
            try (TaskHarness task = new TaskHarness(props).start()) {
                long until = System.currentTimeMillis() + 30_000;
                while (db.queryLong("SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name = '"
                        + name + "'") == 0 && System.currentTimeMillis() < until) {
                    task.poll();
                }
                db.execute("INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, " + rows + ") i");
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(), r -> r.size() >= 2000);
                assertTrue(records.size() < rows, "only part of the transaction delivered: " + records.size());
                assertEquals(1, db.queryLong("SELECT count(pg_terminate_backend(active_pid)) FROM pg_replication_slots"
                        + " WHERE slot_name = '" + name + "' AND active_pid IS NOT NULL"));
                pollUntil(task, records, r -> r.size() >= rows);
                // A few more polls: anything sent twice would come now.
                long more = System.currentTimeMillis() + 2000;
                while (System.currentTimeMillis() < more) {
                    List<SourceRecord> batch = task.poll();
                    if (batch != null) {
                        records.addAll(batch);
                    }
                }
                Map<Integer, Integer> seen = new HashMap<>();
                records.forEach(r -> seen.merge(((Struct) r.value()).getInt32("id"), 1, Integer::sum));
                assertEquals(rows, seen.size(), "distinct rows");
                assertEquals(rows, records.size(), "records (none twice)");
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /**
     * The JVM (hence pgjdbc's TimeZone) and the database in zones other than UTC, with
     * time.precision.mode=string and connect: zone-dependent text (timestamptz, its arrays and
     * ranges, a composite holding one) from the WAL equals the snapshot's.
     */
    @Test
    void zoneDependentTextFromTheWalEqualsTheSnapshotsOutsideUtc() throws Exception {
        java.util.TimeZone jvmZone = java.util.TimeZone.getDefault();
        java.util.TimeZone.setDefault(java.util.TimeZone.getTimeZone("Asia/Kolkata"));
        try {
            for (String mode : List.of("string", "connect")) {
                TestDatabase db = PostgresFixture.createDatabase("adv_b_zone");
                String name = uniqueName("zone");
                try {
                    db.execute("ALTER DATABASE " + db.name() + " SET timezone = 'America/St_Johns'");
                    db.execute("CREATE TYPE stamp AS (at timestamptz, note text)",
                            "CREATE TABLE z (id int PRIMARY KEY, ts timestamptz, tz timetz, r tstzrange,"
                                    + " a timestamptz[], c stamp, d date, t timestamp)",
                            "INSERT INTO z VALUES (1, '2024-03-10 02:30:00-05', '10:00:00+05:45',"
                                    + " '[2024-01-01 00:00:00+00,2024-07-01 00:00:00+00)',"
                                    + " '{\"1900-01-01 00:00:00+00\",\"2024-06-01 12:00:00.5+00\"}',"
                                    + " ROW('1847-01-01 00:00:00+00', 'lmt'), '2024-03-10', '2024-03-10 02:30:00')");
                    Map<String, String> props = walProps(db, "public\\.z", name);
                    props.put("time.precision.mode", mode);
                    try (TaskHarness task = new TaskHarness(props).start()) {
                        List<SourceRecord> records = pollUntil(task, new ArrayList<>(), r -> count(r, "r") == 1);
                        db.execute("INSERT INTO z SELECT id + 100, ts, tz, r, a, c, d, t FROM z");
                        pollUntil(task, records, r -> count(r, "c") == 1);
                        Struct snapshot = (Struct) records.get(0).value();
                        Struct wal = (Struct) records.get(1).value();
                        List<String> mismatches = new ArrayList<>();
                        for (org.apache.kafka.connect.data.Field f : snapshot.schema().fields()) {
                            if (!f.name().equals("id") && !java.util.Objects.equals(String.valueOf(snapshot.get(f)),
                                    String.valueOf(wal.get(f.name())))) {
                                mismatches.add(mode + " " + f.name() + ": snapshot " + snapshot.get(f) + ", WAL "
                                        + wal.get(f.name()));
                            }
                        }
                        assertTrue(mismatches.isEmpty(), String.join("\n", mismatches));
                    }
                } finally {
                    WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
                }
            }
        } finally {
            java.util.TimeZone.setDefault(jvmZone);
        }
    }

    /**
     * A partitioned table whose second partition has another physical column order (created on
     * its own with a dropped column, then attached): an update leaving its out-of-line value
     * unchanged arrives whole, and a row moved to the other partition ends as the row (its old
     * key in a tombstone when the key changed with it).
     */
    @Test
    void partitionsWithAnotherColumnOrderAndARowMovingBetweenThem() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("adv_b_parts");
        String name = uniqueName("parts");
        try {
            String big = "(SELECT string_agg(md5(i::text || g::text), '') FROM generate_series(1, 300) g)";
            db.execute("CREATE TABLE pt (id int, region int, n int, big text, PRIMARY KEY (id, region))"
                            + " PARTITION BY LIST (region)",
                    "CREATE TABLE pt1 PARTITION OF pt FOR VALUES IN (1)",
                    "CREATE TABLE pt2 (junk int, big text, n int, region int NOT NULL, id int NOT NULL)",
                    "ALTER TABLE pt2 DROP COLUMN junk",
                    "ALTER TABLE pt ATTACH PARTITION pt2 FOR VALUES IN (2)",
                    "INSERT INTO pt SELECT i, 1 + i % 2, 0, " + big + " FROM generate_series(1, 4) i");
            try (TaskHarness task = new TaskHarness(walProps(db, "public\\.pt", name)).start()) {
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(), r -> count(r, "r") == 4);
                records.clear();
                db.execute("UPDATE pt SET n = 5 WHERE id IN (1, 2)", "UPDATE pt SET region = 2, n = 6 WHERE id = 4");
                pollUntil(task, records, r -> count(r, "u") + count(r, "c") >= 3);
                Map<String, String> last = new HashMap<>();
                for (SourceRecord r : records) {
                    Struct k = (Struct) r.key();
                    String key = k.get("id") + "/" + k.get("region");
                    Struct v = (Struct) r.value();
                    last.put(key, v == null ? null : v.get("n") + ":" + v.get("big"));
                }
                Map<String, String> expected = new HashMap<>();
                try (Connection c = db.connect(); Statement st = c.createStatement();
                     ResultSet rs = st.executeQuery("SELECT id, region, n, big FROM pt WHERE id IN (1, 2, 4)")) {
                    while (rs.next()) {
                        expected.put(rs.getInt(1) + "/" + rs.getInt(2), rs.getInt(3) + ":" + rs.getString(4));
                    }
                }
                // Row 4 moved from region 1 to 2: its old key (4/1) must end deleted.
                expected.put("4/1", null);
                List<String> mismatches = new ArrayList<>();
                expected.forEach((key, want) -> {
                    String got = last.get(key);
                    if (!last.containsKey(key) || !java.util.Objects.equals(want, got)) {
                        mismatches.add(key + ": " + (got == null ? "null" : got.length() > 40 ? got.substring(0, 40)
                                + "… (" + got.length() + ")" : got) + (last.containsKey(key) ? "" : " (no record)"));
                    }
                });
                assertTrue(mismatches.isEmpty(), String.join("\n", mismatches) + "\nrecords: " + records.size());
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /**
     * A backlog (written while the task was away) that drops a column in the middle, retypes one
     * inside the transaction that also updates the row before and after, and renames one: each
     * record has the fields and values the row had at that change, as PostgreSQL recorded them
     * with row_to_json in the same transaction.
     */
    @Test
    void aBacklogOfSchemaChangesInsideTransactionsGivesEachChangeTheRowOfItsTime() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("adv_b_backlog");
        String name = uniqueName("backlog");
        try {
            db.execute("CREATE TABLE t (id int PRIMARY KEY, a int, b text, c int)",
                    "CREATE TABLE expect (seq serial, j jsonb)");
            Map<String, String> props = walProps(db, "public\\.t", name);
            props.put("snapshot.mode", "never");
            try (TaskHarness task = new TaskHarness(props).start()) {
                long until = System.currentTimeMillis() + 30_000;
                while (db.queryLong("SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name = '"
                        + name + "'") == 0 && System.currentTimeMillis() < until) {
                    task.poll();
                }
            }
            String snap = "INSERT INTO expect (j) SELECT to_jsonb(t) FROM t WHERE id = 1";
            db.execute("INSERT INTO t VALUES (1, 1, 'x', 10)", snap);
            db.execute("ALTER TABLE t DROP COLUMN b", "UPDATE t SET c = 11", snap);
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                c.setAutoCommit(false);
                st.execute("UPDATE t SET c = 12");
                st.execute(snap);
                st.execute("ALTER TABLE t ALTER COLUMN c TYPE text USING c::text || 'z'");
                st.execute("UPDATE t SET c = c || 'y'");
                st.execute(snap);
                st.execute("ALTER TABLE t RENAME COLUMN a TO a2");
                st.execute("UPDATE t SET a2 = 2");
                st.execute(snap);
                c.commit();
            }
            List<Map<String, String>> expected = new ArrayList<>();
            com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
            try (Connection c = db.connect(); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT j::text FROM expect ORDER BY seq")) {
                while (rs.next()) {
                    Map<String, String> row = new java.util.TreeMap<>();
                    json.readTree(rs.getString(1)).fields().forEachRemaining(e -> row.put(e.getKey(),
                            e.getValue().isNull() ? null : e.getValue().asText()));
                    expected.add(row);
                }
            }
            try (TaskHarness task = new TaskHarness(props).start()) {
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(), r -> r.size() >= expected.size());
                List<Map<String, String>> got = new ArrayList<>();
                for (SourceRecord r : records) {
                    Struct v = (Struct) r.value();
                    Map<String, String> row = new java.util.TreeMap<>();
                    v.schema().fields().forEach(f -> row.put(f.name(), v.get(f) == null ? null : String.valueOf(v.get(f))));
                    got.add(row);
                }
                assertEquals(expected, got);
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /**
     * REPLICA IDENTITY USING INDEX on a unique index whose column order (b, a) differs from
     * key.columns (a|b), with an out-of-line value: an update leaving it unchanged arrives whole,
     * a key change gives the old key's tombstone, a delete its tombstone; the topic's last value
     * per key is the row (PostgreSQL's rows).
     */
    @Test
    void replicaIdentityUsingIndexWithKeyColumnsInAnotherOrder() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("adv_b_ri_index");
        String name = uniqueName("riindex");
        try {
            String big = "(SELECT string_agg(md5(i::text || g::text), '') FROM generate_series(1, 300) g)";
            db.execute("CREATE TABLE r (v text, a int NOT NULL, b int NOT NULL, n int)",
                    "CREATE UNIQUE INDEX r_ba ON r (b, a)", "ALTER TABLE r REPLICA IDENTITY USING INDEX r_ba",
                    "INSERT INTO r SELECT " + big + ", i, i * 10, 0 FROM generate_series(1, 3) i");
            Map<String, String> props = walProps(db, "public\\.r", name);
            props.put("key.columns", "public.r:a|b");
            List<String> errors = new ArrayList<>();
            new dev.pgkeyset.connect.PgKeysetSourceConnector().validate(props).configValues()
                    .forEach(v -> v.errorMessages().forEach(e -> errors.add(v.name() + ": " + e)));
            assertEquals(List.of(), errors, "the index is the key");
            try (TaskHarness task = new TaskHarness(props).start()) {
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(), r -> count(r, "r") == 3);
                db.execute("UPDATE r SET n = 1 WHERE a = 1", "UPDATE r SET a = 20, n = 2 WHERE a = 2",
                        "DELETE FROM r WHERE a = 3");
                pollUntil(task, records, r -> count(r, "d") == 2 && count(r, "u") == 2);
                Map<String, String> last = new HashMap<>();
                for (SourceRecord r : records) {
                    Struct k = (Struct) r.key();
                    Struct v = (Struct) r.value();
                    last.put(k.get("a") + "/" + k.get("b"), v == null ? null : v.get("n") + ":" + v.get("v"));
                }
                Map<String, String> expected = new HashMap<>();
                expected.put("2/20", null);
                expected.put("3/30", null);
                try (Connection c = db.connect(); Statement st = c.createStatement();
                     ResultSet rs = st.executeQuery("SELECT a, b, n, v FROM r")) {
                    while (rs.next()) {
                        expected.put(rs.getInt(1) + "/" + rs.getInt(2), rs.getInt(3) + ":" + rs.getString(4));
                    }
                }
                assertEquals(expected.keySet(), last.keySet());
                expected.forEach((key, want) -> assertEquals(want, last.get(key), key));
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /** README: a publication dropped by hand while the task streams: the task fails naming it. */
    @Test
    void aPublicationDroppedByHandWhileStreamingFailsTheTaskNamingIt() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("adv_b_pub_drop");
        String name = uniqueName("pubdrop");
        try {
            db.execute("CREATE TABLE a (id int PRIMARY KEY)", "INSERT INTO a VALUES (1)");
            try (TaskHarness task = new TaskHarness(walProps(db, "public\\.a", name)).start()) {
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(), r -> count(r, "r") == 1);
                db.execute("INSERT INTO a VALUES (2)");
                pollUntil(task, records, r -> count(r, "c") == 1);
                db.execute("DROP PUBLICATION " + name, "INSERT INTO a VALUES (3)");
                Exception failure = null;
                try {
                    pollUntil(task, records, r -> false);
                } catch (Exception | AssertionError e) {
                    failure = e instanceof Exception ? (Exception) e : null;
                }
                assertTrue(failure != null && String.valueOf(failure.getMessage()).contains(name),
                        "the task fails naming publication " + name + ": " + failure);
                assertEquals(1, count(records, "c"), "nothing after the drop delivered");
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /**
     * A primary key value stored out of line (2,400 incompressible characters, STORAGE EXTERNAL):
     * an update that leaves the key unchanged sends it as unchanged TOAST in the new tuple (and
     * the old key in full). It must give one update record for that key, with the row's values,
     * and no tombstone.
     */
    @Test
    void anOutOfLineKeyLeftUnchangedByAnUpdateIsStillTheKey() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("adv_b_toast_key");
        String name = uniqueName("toastkey");
        try {
            db.execute("CREATE TABLE k (id text PRIMARY KEY, n int)",
                    "ALTER TABLE k ALTER COLUMN id SET STORAGE EXTERNAL",
                    "INSERT INTO k SELECT (SELECT string_agg(md5(i::text || g::text), '') FROM generate_series(1, 75) g),"
                            + " 0 FROM generate_series(1, 2) i");
            assertTrue(db.queryLong("SELECT pg_total_relation_size(reltoastrelid) FROM pg_class WHERE relname = 'k'")
                    > 8192, "keys stored out of line");
            try (TaskHarness task = new TaskHarness(walProps(db, "public\\.k", name)).start()) {
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(), r -> count(r, "r") == 2);
                records.clear();
                db.execute("UPDATE k SET n = 1 WHERE n = 0 AND id LIKE md5('11') || '%'", "INSERT INTO k VALUES ('x', 9)");
                Exception failure = null;
                try {
                    pollUntil(task, records, r -> count(r, "c") == 1);
                } catch (Exception e) {
                    failure = e;
                }
                List<String> ops = records.stream().map(r -> header(r, TablePlan.OP_HEADER) + ":"
                        + (r.key() == null ? null : String.valueOf(((Struct) r.key()).get("id")).length())).toList();
                if (failure != null) {
                    throw new AssertionError("the stream must go on; records " + ops, failure);
                }
                assertEquals(List.of("u:2400", "c:1"), ops);
                String id = db.queryLong("SELECT count(*) FROM k WHERE n = 1") == 1 ? "ok" : "missing";
                assertEquals("ok", id);
                Struct v = (Struct) records.get(0).value();
                assertEquals(1, v.getInt32("n"));
                assertEquals(2400, v.getString("id").length());
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }
}

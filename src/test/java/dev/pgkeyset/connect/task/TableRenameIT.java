package dev.pgkeyset.connect.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Predicate;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.WalFixture;

/**
 * A table renamed away and back while it is snapshotted (a migration that swaps names, a tool
 * that renames, copies and renames back). Before {@link TableRename}, the read that met
 * {@code 42P01} gave the table up for the rest of the run, and table discovery, seeing the same
 * name again, changed nothing: the rows after the last one read came only at the next task
 * start. Now the reads wait for the name, and the rest of the task goes on meanwhile. Every
 * expectation comes from PostgreSQL: the keys and values it lists, compared as sets. Chunk and
 * batch sizes and the moment of the rename come from a printed seed ({@code -DtableRename.seed=<n>}).
 */
class TableRenameIT {

    private static final long SEED = Long.getLong("tableRename.seed", System.nanoTime());

    /**
     * capture.mode=wal, the snapshot read in chunks beside the stream: table a is renamed away
     * for longer than table b's whole snapshot, and changed under its other name. b's snapshot
     * is not held up, and once a's name is back, a's snapshot goes on in the same run: each key's
     * last record equals a's row, and no key of a was left out.
     */
    @Test
    void walChunkedSnapshotWaitsForARenamedTableWhileTheOthersGoOn() throws Exception {
        Random random = new Random(SEED);
        int chunk = 5 + random.nextInt(40);
        int batch = 1 + random.nextInt(20);
        int renameAfter = 20 + random.nextInt(300);
        System.out.printf("TableRenameIT wal: seed %d, chunk %d, batch %d, rename after %d records of a%n", SEED,
                chunk, batch, renameAfter);
        TestDatabase db = PostgresFixture.createDatabase("rename_wal");
        String name = WalFixture.uniqueName("rename");
        try {
            db.execute("CREATE TABLE a (id int PRIMARY KEY, n int NOT NULL)",
                    "INSERT INTO a SELECT g, g FROM generate_series(1, 2000) g",
                    "CREATE TABLE b (id int PRIMARY KEY, n int NOT NULL)",
                    "INSERT INTO b SELECT g, -g FROM generate_series(1, 2000) g");
            Map<String, String> props = WalFixture.walConfig(db, "ren", "public\\.(a|b)", name, "initial");
            props.put("snapshot.chunk.size", String.valueOf(chunk));
            props.put("batch.max.rows", String.valueOf(batch));
            List<SourceRecord> records = new ArrayList<>();
            try (TaskHarness task = new TaskHarness(props).start()) {
                pollAcking(task, records, 60_000, r -> live(r, "ren.public.a").size() >= renameAfter);
                db.execute("ALTER TABLE a RENAME TO a_away");
                // b's whole snapshot while a's name is missing: a's wait does not hold it up.
                Map<Integer, Integer> b = rows(db, "b");
                pollAcking(task, records, 60_000, r -> live(r, "ren.public.b").equals(b));
                assertEquals(b, live(records, "ren.public.b"), "b's snapshot ran while a's name was missing");
                // Changes under the other name: the stream follows the table by OID.
                db.execute("UPDATE a_away SET n = n + 100000 WHERE id % 7 = 0",
                        "DELETE FROM a_away WHERE id % 11 = 0",
                        "INSERT INTO a_away VALUES (5000, 5000)");
                pollAcking(task, records, 1_500, null);
                int whileAway = live(records, "ren.public.a").size();
                db.execute("ALTER TABLE a_away RENAME TO a");
                Map<Integer, Integer> a = rows(db, "a");
                pollAcking(task, records, 60_000, r -> live(r, "ren.public.a").equals(a));
                System.out.printf("TableRenameIT wal: %d keys of a live while its name was missing, %d after%n",
                        whileAway, live(records, "ren.public.a").size());
                assertEquals(a, live(records, "ren.public.a"), diff(a, live(records, "ren.public.a"))
                        + " (seed " + SEED + ")");
            }
        } finally {
            WalFixture.dropSlotAndPublication(db, name);
            db.close();
        }
    }

    /**
     * capture.mode=wal, a one-transaction swap ({@code RENAME a TO a_old, RENAME a_new TO a})
     * under a publication FOR ALL TABLES (which publishes a_new too, so the look does not fail the
     * task on a captured table missing from it), then a cleanup of a_old. Before, a_old's deletes
     * became tombstones on a's topic for keys a still holds.
     */
    @Test
    void walSwapInOneTransaction() throws Exception {
        swap("swap1", List.of(List.of("INSERT INTO a_new SELECT id, n FROM a",
                "BEGIN; ALTER TABLE a RENAME TO a_old; ALTER TABLE a_new RENAME TO a; COMMIT",
                "DELETE FROM a_old", "UPDATE a SET n = n + 1000 WHERE id % 5 = 0", "INSERT INTO a VALUES (501, 501)")));
    }

    /** A swap in two steps, streamed in between (review 1: the old table's cleanup reached the topic, 400 keys). */
    @Test
    void walSwapInTwoSteps() throws Exception {
        swap("swap2", List.of(List.of("ALTER TABLE a RENAME TO a_old", "UPDATE a_old SET n = n + 1 WHERE id <= 10"),
                List.of("CREATE TABLE a (id int PRIMARY KEY, n int NOT NULL)",
                        "INSERT INTO a SELECT id, n FROM a_old", "DELETE FROM a_old",
                        "UPDATE a SET n = n + 1000 WHERE id % 5 = 0", "INSERT INTO a VALUES (501, 501)")));
    }

    /**
     * Renamed away, changed, back, then swapped, all decoded only afterwards (review 1: the
     * changes made while away were passed over, 50 keys, for the catalog was asked too late).
     */
    @Test
    void walRenameAwayAndBackThenSwapInTheBacklog() throws Exception {
        swap("swap3", List.of(List.of("ALTER TABLE a RENAME TO a_away", "UPDATE a_away SET n = n + 7000 WHERE id <= 50",
                "ALTER TABLE a_away RENAME TO a", "INSERT INTO a_new SELECT id, n FROM a",
                "BEGIN; ALTER TABLE a RENAME TO a_old; ALTER TABLE a_new RENAME TO a; COMMIT")));
    }

    /** A swap and a swap back, each side changed in between (review 1: 60 keys differed, silently). */
    @Test
    void walSwapAndSwapBack() throws Exception {
        swap("swap4", List.of(List.of("INSERT INTO a_new SELECT id, n FROM a",
                        "BEGIN; ALTER TABLE a RENAME TO a_old; ALTER TABLE a_new RENAME TO a; COMMIT",
                        "UPDATE a SET n = n + 1 WHERE id <= 10"),
                List.of("UPDATE a_old SET n = n + 7000 WHERE id BETWEEN 100 AND 149"),
                List.of("BEGIN; ALTER TABLE a RENAME TO a_new; ALTER TABLE a_old RENAME TO a; COMMIT",
                        "UPDATE a SET n = n + 100000 WHERE id BETWEEN 300 AND 304")));
    }

    /**
     * Table a (500 rows) snapshotted and streamed, then {@code steps} (each group run, then the
     * task polled for a while, while it has not failed). The promise: each key's last record equals a's row, or the task
     * fails naming a and saying to snapshot it again, and after that remedy (its offset deleted,
     * the task started again) each key's last record equals a's row.
     */
    private static void swap(String purpose, List<List<String>> steps) throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("rename_" + purpose);
        String name = WalFixture.uniqueName(purpose);
        String topic = purpose + ".public.a";
        try {
            List<SourceRecord> records = new ArrayList<>();
            try (TaskHarness task = snapshottedAndStreamed(db, purpose, name, records)) {
                Exception failure = null;
                for (List<String> group : steps) {
                    db.execute(group.toArray(String[]::new));
                    if (failure == null) {
                        // After a failure the task is not polled: the rest of the steps run while it is down.
                        failure = failureWithin(task, records, 1_500);
                    }
                }
                Map<Integer, Integer> a = rows(db, "a");
                if (failure == null) {
                    failure = failureWithin(task, records, 5_000, r -> live(r, topic).equals(a));
                }
                System.out.printf("TableRenameIT %s: %s%n", purpose, failure == null ? "no failure" : failure.getMessage());
                if (failure != null) {
                    assertTrue(failure.getMessage().contains("public.a") && failure.getMessage().contains(
                            "Snapshot the table again"), "the failure names the table and the remedy: " + failure);
                    // The remedy: the table's offset deleted, the task started again.
                    remedy(task);
                    pollAcking(task, records, 60_000, r -> live(r, topic).equals(a));
                    pollAcking(task, records, 1_000, null);
                }
                assertEquals(a, live(records, topic), diff(a, live(records, topic)));
            }
        } finally {
            WalFixture.dropSlotAndPublication(db, name);
            db.close();
        }
    }

    /**
     * A swap (review 2: 250 keys left live, no failure) or a drop and create of the table (400)
     * while no task ran: nothing in the WAL the next run reads can tell, so the table's offsets
     * carry the OID of the relation its snapshot read, compared at the start.
     */
    @Test
    void walTableSwappedWhileNoTaskRan() throws Exception {
        replacedWhileStopped("stopswap", "INSERT INTO a_new SELECT id, id + 10000 FROM generate_series(1, 250) id",
                "BEGIN; ALTER TABLE a RENAME TO a_old; ALTER TABLE a_new RENAME TO a; COMMIT",
                "UPDATE a SET n = n + 1 WHERE id <= 5");
    }

    @Test
    void walTableDroppedAndMadeAgainWhileNoTaskRan() throws Exception {
        replacedWhileStopped("stopdrop", "DROP TABLE a", "CREATE TABLE a (id int PRIMARY KEY, n int NOT NULL)",
                "INSERT INTO a SELECT g, -g FROM generate_series(1, 100) g");
    }

    /**
     * Table a snapshotted and streamed, its offsets committed, the task stopped, {@code ddl} run,
     * the task started: it fails naming a and the remedy; after the remedy (offset deleted) every
     * row of a arrives with its value. The rows of the old relation the new one lacks stay live:
     * the remedy says so (the topic's records are to be deleted, or the snapshot taken as a reload).
     */
    private static void replacedWhileStopped(String purpose, String... ddl) throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("rename_" + purpose);
        String name = WalFixture.uniqueName(purpose);
        String topic = purpose + ".public.a";
        try {
            List<SourceRecord> records = new ArrayList<>();
            try (TaskHarness task = snapshottedAndStreamed(db, purpose, name, records)) {
                pollAcking(task, records, 1_000, null);
                task.stop();
                db.execute(ddl);
                Exception failure = null;
                try {
                    task.start();
                    pollAcking(task, records, 3_000, null);
                } catch (Exception e) {
                    failure = e;
                }
                System.out.printf("TableRenameIT %s: %s%n", purpose, failure);
                assertTrue(failure != null && failure.getMessage().contains("public.a")
                        && failure.getMessage().contains("Snapshot the table again"),
                        "the start fails naming the table and the remedy: " + failure);
                remedy(task);
                Map<Integer, Integer> a = rows(db, "a");
                pollAcking(task, records, 60_000, r -> live(r, topic).entrySet().containsAll(a.entrySet()));
                Map<Integer, Integer> live = live(records, topic);
                assertTrue(live.entrySet().containsAll(a.entrySet()), "after the remedy every row of a arrived: "
                        + diff(a, live));
            }
        } finally {
            WalFixture.dropSlotAndPublication(db, name);
            db.close();
        }
    }

    /**
     * Table a (500 rows) and an empty a_new under a publication FOR ALL TABLES; a task started,
     * a's snapshot arrived and an update of it streamed.
     */
    private static TaskHarness snapshottedAndStreamed(TestDatabase db, String purpose, String name,
                                                      List<SourceRecord> records) throws Exception {
        String topic = purpose + ".public.a";
        db.execute("CREATE TABLE a (id int PRIMARY KEY, n int NOT NULL)",
                "INSERT INTO a SELECT g, g FROM generate_series(1, 500) g",
                "CREATE TABLE a_new (id int PRIMARY KEY, n int NOT NULL)",
                "CREATE PUBLICATION " + name + " FOR ALL TABLES WITH (publish_via_partition_root = true)");
        Map<String, String> props = WalFixture.walConfig(db, purpose, "public\\.a", name, "initial");
        props.put("publication.autocreate", "disabled");
        TaskHarness task = new TaskHarness(props).start();
        pollAcking(task, records, 60_000, r -> live(r, topic).size() == 500);
        db.execute("UPDATE a SET n = n + 1 WHERE id <= 10");
        pollAcking(task, records, 30_000, r -> Integer.valueOf(2).equals(live(r, topic).get(1)));
        return task;
    }

    /** The remedy a failure names: the table's offset deleted, the task started again. */
    private static void remedy(TaskHarness task) {
        task.stop();
        task.committed().remove(Map.of("table", "public.a"));
        task.start();
    }

    /** Polls (acknowledging) for {@code millis}; the task's failure, or null. */
    private static Exception failureWithin(TaskHarness task, List<SourceRecord> into, long millis) {
        return failureWithin(task, into, millis, null);
    }

    private static Exception failureWithin(TaskHarness task, List<SourceRecord> into, long millis,
                                           Predicate<List<SourceRecord>> done) {
        try {
            pollAcking(task, into, millis, done);
            return null;
        } catch (Exception e) {
            return e;
        }
    }

    /**
     * capture.mode=wal, updates that leave an out-of-line column unchanged, decoded while the
     * table is renamed away: the fetch of the unchanged values by key meets 42P01. Before, that
     * failed the task (a worker marks it FAILED); now it is retried from the confirmed position
     * until the name is back (review 1). Each key's last record carries PostgreSQL's values.
     */
    @Test
    void walToastFetchWaitsForARenamedTable() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("rename_toast");
        String name = WalFixture.uniqueName("toast");
        try {
            db.execute("CREATE TABLE a (id int PRIMARY KEY, n int NOT NULL, big text NOT NULL)",
                    "ALTER TABLE a ALTER COLUMN big SET STORAGE EXTERNAL",
                    "INSERT INTO a SELECT g, g, (SELECT string_agg(md5(random()::text || g || h), '') "
                            + "FROM generate_series(1, 200) h) FROM generate_series(1, 200) g");
            Map<String, String> props = WalFixture.walConfig(db, "toast", "public\\.a", name, "initial");
            props.put("retry.backoff.ms", "200");
            props.put("retry.backoff.max.ms", "500");
            List<SourceRecord> records = new ArrayList<>();
            try (TaskHarness task = new TaskHarness(props).start()) {
                pollAcking(task, records, 60_000, r -> rowsWithBig(r).size() == 200);
                db.execute("ALTER TABLE a RENAME TO a_away", "UPDATE a_away SET n = n + 1000 WHERE id <= 50");
                pollAcking(task, records, 2_000, null);
                db.execute("ALTER TABLE a_away RENAME TO a");
                Map<Integer, String> expected = new HashMap<>();
                try (Connection c = db.connect(); Statement st = c.createStatement();
                     ResultSet rs = st.executeQuery("SELECT id, n, big FROM a")) {
                    while (rs.next()) {
                        expected.put(rs.getInt(1), rs.getInt(2) + "/" + rs.getString(3));
                    }
                }
                pollAcking(task, records, 30_000, r -> rowsWithBig(r).equals(expected));
                assertEquals(expected, rowsWithBig(records), "each key's n and big as in PostgreSQL");
                assertEquals(0, records.stream().filter(r -> r.headers().lastWithName("pgkeyset.unavailable") != null)
                        .count(), "no value sent as unavailable");
            }
        } finally {
            WalFixture.dropSlotAndPublication(db, name);
            db.close();
        }
    }

    /** Each key's last record of table a: "n/big". */
    private static Map<Integer, String> rowsWithBig(List<SourceRecord> records) {
        Map<Integer, String> last = new HashMap<>();
        for (SourceRecord r : records) {
            if (r.key() != null && r.value() != null) {
                Struct v = (Struct) r.value();
                last.put(id(r), v.get("n") + "/" + v.get("big"));
            }
        }
        return last;
    }

    /**
     * capture.mode=query, the keyset snapshot through a cursor: the table is renamed away for
     * 1.5 s (the reader's cursor yields to the rename's lock, then meets 42P01 when it reopens)
     * and back. Every key arrives exactly once, in the same run.
     */
    @Test
    void queryModeSnapshotWaitsForARenamedTableAndReadsOnWhenItsNameIsBack() throws Exception {
        Random random = new Random(SEED + 1);
        int batch = 10 + random.nextInt(200);
        int renameAfter = 100 + random.nextInt(2000);
        System.out.printf("TableRenameIT query: seed %d, batch %d, rename after %d records%n", SEED, batch,
                renameAfter);
        try (TestDatabase db = PostgresFixture.createDatabase("rename_query")) {
            db.execute("CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL)",
                    "INSERT INTO t SELECT g, g * 3 FROM generate_series(1, 20000) g");
            Map<String, String> props = db.connectorConfig("renq", "public\\.t");
            props.put("batch.max.rows", String.valueOf(batch));
            props.put("fetch.size", String.valueOf(batch));
            List<SourceRecord> records = new ArrayList<>();
            try (TaskHarness task = new TaskHarness(props).start()) {
                pollAcking(task, records, 60_000, r -> r.size() >= renameAfter);
                Thread away = new Thread(() -> {
                    try {
                        db.execute("ALTER TABLE t RENAME TO t_away");
                        Thread.sleep(1_500);
                        db.execute("ALTER TABLE t_away RENAME TO t");
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                away.start();
                // Polled meanwhile (the open cursor yields to the rename's lock only when polled),
                // slowly, so the snapshot is still under way when the name comes back.
                long until = System.currentTimeMillis() + 10_000;
                while (away.isAlive() && System.currentTimeMillis() < until) {
                    pollOnce(task, records);
                    Thread.sleep(20);
                }
                away.join();
                int whenBack = records.size();
                Map<Integer, Integer> t = rows(db, "t");
                pollAcking(task, records, 60_000, r -> r.size() >= t.size());
                pollAcking(task, records, 500, null);
                System.out.printf("TableRenameIT query: %d records when the name was back, %d after%n", whenBack,
                        records.size());
                assertTrue(whenBack < t.size(), "the snapshot was still under way when the name came back");
                Map<Integer, Integer> seen = new HashMap<>();
                for (SourceRecord r : records) {
                    seen.merge(id(r), 1, Integer::sum);
                }
                seen.values().removeIf(count -> count == 1);
                assertTrue(seen.isEmpty(), "keys read more than once: " + seen + " (seed " + SEED + ")");
                assertEquals(t, live(records, "renq.public.t"), diff(t, live(records, "renq.public.t"))
                        + " (seed " + SEED + ")");
            }
        }
    }

    private static int id(SourceRecord record) {
        return ((Number) ((Struct) record.key()).get("id")).intValue();
    }

    /** Each key's last record on {@code topic}: its n, or none after a tombstone. */
    private static Map<Integer, Integer> live(List<SourceRecord> records, String topic) {
        Map<Integer, Integer> last = new HashMap<>();
        for (SourceRecord r : records) {
            if (topic.equals(r.topic()) && r.key() != null) {
                last.put(id(r), r.value() == null ? null : ((Number) ((Struct) r.value()).get("n")).intValue());
            }
        }
        last.values().removeIf(v -> v == null);
        return last;
    }

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

    /** Polls for up to {@code millis} or until {@code done}, acknowledging each record as a worker does. */
    private static void pollAcking(TaskHarness task, List<SourceRecord> into, long millis,
                                   Predicate<List<SourceRecord>> done) throws Exception {
        long until = System.currentTimeMillis() + millis;
        while (System.currentTimeMillis() < until && (done == null || !done.test(into))) {
            pollOnce(task, into);
        }
    }

    private static void pollOnce(TaskHarness task, List<SourceRecord> into) throws Exception {
        List<SourceRecord> batch = task.poll();
        if (batch != null) {
            into.addAll(batch);
            for (SourceRecord r : batch) {
                task.acknowledge(r);
            }
        }
    }

    /** The keys whose live value differs, the first dozen shown. */
    private static String diff(Map<Integer, Integer> expected, Map<Integer, Integer> live) {
        TreeMap<Integer, String> d = new TreeMap<>();
        expected.forEach((k, v) -> {
            if (!v.equals(live.get(k))) {
                d.put(k, "pg=" + v + " topic=" + live.get(k));
            }
        });
        live.forEach((k, v) -> {
            if (!expected.containsKey(k)) {
                d.put(k, "pg=<none> topic=" + v);
            }
        });
        StringBuilder sb = new StringBuilder(d.size() + " key(s) differ");
        d.entrySet().stream().limit(12).forEach(e -> sb.append("; ").append(e.getKey()).append(": ")
                .append(e.getValue()));
        return sb.toString();
    }
}

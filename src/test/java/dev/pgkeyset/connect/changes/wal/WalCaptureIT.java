package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;

import dev.pgkeyset.connect.testing.ConnectFixture;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.TopicReader;
import dev.pgkeyset.connect.testing.WalFixture;

/**
 * capture.mode=wal through a real worker, streaming only (snapshot.mode=never): a random mix of
 * inserts, updates that leave a ~6 KB out-of-line column unchanged (REPLICA IDENTITY DEFAULT:
 * the WAL does not carry it), hard deletes and key changes. Afterwards each key's last record
 * equals the row as PostgreSQL prints it, column by column, and every key that no longer exists
 * ends in a tombstone.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WalCaptureIT {

    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    private TestDatabase db;
    private EmbeddedConnectCluster connect;
    private final String slot = WalFixture.uniqueName("capture");
    private final String snapshotSlot = WalFixture.uniqueName("snap");
    private final String addSlot = WalFixture.uniqueName("add");
    private final String idleSlot = WalFixture.uniqueName("idle");
    private final String truncateSlot = WalFixture.uniqueName("trunc");

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("wal_capture");
        db.execute("CREATE TABLE snap (id int PRIMARY KEY, note text, qty int)",
                "INSERT INTO snap SELECT g, md5(g::text), g FROM generate_series(1, 20000) g",
                "ANALYZE snap",
                "CREATE TABLE items (id int PRIMARY KEY, note text, qty int, price numeric(10,2), big text)",
                // No compression: the value stays ~6 KB, so it is stored out of line (TOAST).
                "ALTER TABLE items ALTER COLUMN big SET STORAGE EXTERNAL");
        connect = ConnectFixture.start("wal-capture");
    }

    @AfterAll
    void tearDown() {
        try {
            if (connect != null) {
                connect.deleteConnector("walcap");
                connect.deleteConnector("walsnap");
                connect.deleteConnector("waladd");
                connect.deleteConnector("walidle");
                connect.deleteConnector("waltrunc");
            }
        } catch (RuntimeException ignored) {
            // the cluster stops anyway
        } finally {
            try {
                WalFixture.dropSlotAndPublication(db, slot);
                WalFixture.dropSlotAndPublication(db, snapshotSlot);
                WalFixture.dropSlotAndPublication(db, addSlot);
                WalFixture.dropSlotAndPublication(db, idleSlot);
                WalFixture.dropSlotAndPublication(db, truncateSlot);
            } finally {
                ConnectFixture.stopAll(connect, db);
            }
        }
    }

    @Test
    void lastRecordPerKeyEqualsTheRowAndDeletedKeysEndInTombstones() throws Exception {
        connect.configureConnector("walcap", WalFixture.walConfig(db, "walcap", "public\\.items", slot, "never"));
        WalFixture.awaitStreaming(db, slot, TIMEOUT);

        long seed = Long.getLong("seed", System.nanoTime());
        System.out.println("WalCaptureIT seed " + seed);
        Random random = new Random(seed);
        Set<Integer> everInserted = new HashSet<>();
        Set<Integer> live = new HashSet<>();
        Set<Integer> lastChangeLeftBigUnchanged = new HashSet<>();
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            for (int id = 1; id <= 200; id++) {
                st.execute("INSERT INTO items VALUES (" + id + ", 'n" + id + "', " + id + ", " + id + ".25, "
                        + "(SELECT string_agg(md5(random()::text || g), '') FROM generate_series(1, 190) g))");
                everInserted.add(id);
                live.add(id);
                if (id % 10 == 0) {
                    c.commit();
                }
            }
            c.commit();
            int nextId = 201;
            for (int op = 0; op < 400; op++) {
                List<Integer> ids = List.copyOf(live);
                int id = ids.get(random.nextInt(ids.size()));
                int kind = random.nextInt(10);
                if (kind < 5) {
                    st.execute("UPDATE items SET note = 'u" + op + "', qty = qty + 1, price = price + 0.5 WHERE id = "
                            + id);
                    lastChangeLeftBigUnchanged.add(id);
                } else if (kind < 7) {
                    st.execute("DELETE FROM items WHERE id = " + id);
                    live.remove(id);
                    lastChangeLeftBigUnchanged.remove(id);
                } else if (kind < 8) {
                    int newId = id + 10_000;
                    if (!everInserted.contains(newId)) {
                        st.execute("UPDATE items SET id = " + newId + " WHERE id = " + id);
                        live.remove(id);
                        lastChangeLeftBigUnchanged.remove(id);
                        live.add(newId);
                        everInserted.add(newId);
                        lastChangeLeftBigUnchanged.add(newId);
                    }
                } else {
                    int fresh = nextId++;
                    st.execute("INSERT INTO items VALUES (" + fresh + ", NULL, NULL, NULL, "
                            + "(SELECT string_agg(md5(random()::text || g), '') FROM generate_series(1, 190) g))");
                    everInserted.add(fresh);
                    live.add(fresh);
                }
                // Mostly one change per transaction, sometimes several.
                if (random.nextInt(3) > 0) {
                    c.commit();
                }
            }
            c.commit();
            // A sentinel committed last: once it arrives, everything before it did (WAL order).
            st.execute("INSERT INTO items (id, note) VALUES (-1, 'sentinel')");
            c.commit();
        }

        Map<Integer, JsonNode> last = new HashMap<>();
        Map<Integer, String> lastOp = new HashMap<>();
        Map<String, Integer> ops = new HashMap<>();
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), List.of("walcap.public.items"))) {
            reader.readUntil(() -> lastOp.containsKey(-1), TIMEOUT, row -> {
                int id = row.key().get("id").asInt();
                last.put(id, row.value());
                lastOp.put(id, row.op());
                ops.merge(row.op(), 1, Integer::sum);
            });
        }
        System.out.println("WalCaptureIT records by op: " + ops);
        javax.management.MBeanServer jmx = java.lang.management.ManagementFactory.getPlatformMBeanServer();
        javax.management.ObjectName metrics = jmx.queryNames(
                new javax.management.ObjectName("kafka.connect:type=plugins,connector=walcap,*"), null).stream()
                .filter(n -> slot.equals(n.getKeyProperty("slot"))).findFirst().orElseThrow();
        long decoded = (Long) jmx.getAttribute(metrics, "wal-changes-decoded-total");
        long lagMs = (Long) jmx.getAttribute(metrics, "wal-lag-ms");
        System.out.println("WalCaptureIT metrics: decoded " + decoded + ", lag " + lagMs + " ms, retained "
                + jmx.getAttribute(metrics, "slot-retained-wal-bytes") + " bytes, lag "
                + jmx.getAttribute(metrics, "wal-lag-bytes") + " bytes");
        assertTrue(decoded >= ops.values().stream().mapToInt(Integer::intValue).sum() - ops.getOrDefault("d", 0),
                "changes decoded over JMX: " + decoded);
        assertTrue(lagMs >= 0 && lagMs < 120_000, "lag over JMX: " + lagMs);

        // Expected values from PostgreSQL, each column as its own text.
        Map<Integer, String[]> rows = new HashMap<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, note, qty::text, price::text, big FROM items")) {
            while (rs.next()) {
                rows.put(rs.getInt(1), new String[] {rs.getString(2), rs.getString(3), rs.getString(4),
                        rs.getString(5)});
            }
        }
        assertEquals(live.size() + 1, rows.size(), "the test's own bookkeeping agrees with the table");
        int mismatches = 0;
        String[] names = {"note", "qty", "price", "big"};
        for (Map.Entry<Integer, String[]> row : rows.entrySet()) {
            JsonNode value = last.get(row.getKey());
            assertNotNull(value, "row " + row.getKey() + " has a record whose value is not a tombstone");
            for (int i = 0; i < names.length; i++) {
                JsonNode field = value.get(names[i]);
                String actual = field == null || field.isNull() ? null
                        : field.isNumber() ? field.decimalValue().toPlainString() : field.asText();
                if (!java.util.Objects.equals(row.getValue()[i], actual)) {
                    mismatches++;
                    System.out.println("row " + row.getKey() + " column " + names[i] + ": expected "
                            + abbreviate(row.getValue()[i]) + ", got " + abbreviate(actual));
                }
            }
        }
        assertEquals(0, mismatches, "columns differing from the row");
        int unchangedToastChecked = 0;
        for (int id : lastChangeLeftBigUnchanged) {
            if (rows.containsKey(id) && "u".equals(lastOp.get(id))) {
                assertEquals(6080, last.get(id).get("big").asText().length(), "row " + id + " carries its TOAST value");
                unchangedToastChecked++;
            }
        }
        assertTrue(unchangedToastChecked > 10, "rows whose last update left the TOAST column unchanged: "
                + unchangedToastChecked);
        int tombstones = 0;
        for (int id : everInserted) {
            if (!rows.containsKey(id)) {
                assertTrue(last.containsKey(id), "deleted key " + id + " has records");
                assertNull(last.get(id), "deleted key " + id + " ends in a tombstone");
                assertEquals("d", lastOp.get(id), "deleted key " + id + "'s last op");
                tombstones++;
            }
        }
        assertTrue(tombstones > 10, "deleted keys checked: " + tombstones);
        assertTrue(ops.getOrDefault("c", 0) >= 200 && ops.getOrDefault("u", 0) > 0, "ops " + ops);
    }

    /**
     * snapshot.mode=initial while a writer updates, deletes and inserts rows during the snapshot
     * (slowed by a producer quota): the slot exists before the snapshot reads a row, so each
     * key's last record equals the row and each deleted key ends in a tombstone.
     */
    @Test
    void snapshotWithWritesDuringItHandsOverToTheStream() throws Exception {
        Map<String, String> config = WalFixture.walConfig(db, "walsnap", "public\\.snap", snapshotSlot, "initial");
        config.put("batch.max.rows", "500");
        ConnectFixture.throttleProducers(connect.kafka().bootstrapServers(), 400_000.0);
        Set<Integer> everInserted = new HashSet<>();
        for (int id = 1; id <= 20000; id++) {
            everInserted.add(id);
        }
        Map<Integer, JsonNode> last = new HashMap<>();
        Map<Integer, String> lastOp = new HashMap<>();
        Map<String, Integer> ops = new HashMap<>();
        connect.configureConnector("walsnap", config);
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), List.of("walsnap.public.snap"))) {
            java.util.function.Consumer<TopicReader.Row> keep = row -> {
                int id = row.key().get("id").asInt();
                last.put(id, row.value());
                lastOp.put(id, row.op());
                ops.merge(row.op(), 1, Integer::sum);
            };
            reader.readUntil(() -> last.size() >= 1000, TIMEOUT, keep);
            long seed = Long.getLong("seed", System.nanoTime());
            System.out.println("WalCaptureIT snapshot seed " + seed);
            Random random = new Random(seed);
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                for (int op = 0; op < 600; op++) {
                    int id = 1 + random.nextInt(20000);
                    switch (random.nextInt(3)) {
                        case 0 -> st.execute("UPDATE snap SET note = 'w" + op + "', qty = qty + 1 WHERE id = " + id);
                        case 1 -> st.execute("DELETE FROM snap WHERE id = " + id);
                        default -> {
                            int fresh = 20000 + op + 1;
                            st.execute("INSERT INTO snap VALUES (" + fresh + ", 'new', " + op + ")");
                            everInserted.add(fresh);
                        }
                    }
                }
            }
            assertTrue(lastOp.values().stream().noneMatch(o -> !"r".equals(o)) && last.size() < 20000,
                    "the writes ran during the snapshot (records so far: " + last.size() + ")");
            ConnectFixture.throttleProducers(connect.kafka().bootstrapServers(), null);
            db.execute("INSERT INTO snap (id, note) VALUES (-1, 'sentinel')");
            // The snapshot runs beside the stream: the sentinel can arrive before its last chunk.
            reader.readUntil(() -> lastOp.containsKey(-1) && dev.pgkeyset.connect.testing.ConnectorGauges
                    .snapshotDone("walsnap"), TIMEOUT, keep);
            reader.readFor(java.time.Duration.ofSeconds(1), keep);
        } finally {
            ConnectFixture.throttleProducers(connect.kafka().bootstrapServers(), null);
        }
        System.out.println("WalCaptureIT snapshot records by op: " + ops);
        assertEquals(0, compareWithTable("SELECT id, note, qty::text FROM snap", new String[] {"note", "qty"}, last),
                "columns differing from the row");
        int tombstones = 0;
        for (int id : everInserted) {
            if (!last.containsKey(id) || last.get(id) != null) {
                continue;
            }
            tombstones++;
        }
        long deleted = everInserted.size() + 1 - db.queryLong("SELECT count(*) FROM snap");
        assertEquals(deleted, tombstones, "every deleted key ends in a tombstone");
        assertTrue(ops.getOrDefault("r", 0) > 0 && ops.getOrDefault("u", 0) > 0 && ops.getOrDefault("d", 0) > 0,
                "ops " + ops);
    }

    /**
     * A table created while the connector streams: discovery reconfigures the task, the
     * publication is extended, the new table is snapshotted, then its changes (and the first
     * table's, written meanwhile) stream.
     */
    @Test
    void aTableAddedLaterIsSnapshottedThenStreamed() throws Exception {
        db.execute("CREATE TABLE add_a (id int PRIMARY KEY, note text)",
                "INSERT INTO add_a SELECT g, 'a' || g FROM generate_series(1, 100) g");
        Map<String, String> config = WalFixture.walConfig(db, "waladd", "public\\.add_.*", addSlot, "initial");
        config.put("table.discovery.interval.ms", "1000");
        connect.configureConnector("waladd", config);
        Map<String, JsonNode> last = new HashMap<>();
        Map<String, String> ops = new HashMap<>();
        java.util.function.Consumer<TopicReader.Row> keep = row -> {
            String key = row.topic() + "/" + row.key().get("id").asInt();
            last.put(key, row.value());
            ops.put(key, row.op());
        };
        try (TopicReader a = new TopicReader(connect.kafka().bootstrapServers(), List.of("waladd.public.add_a"))) {
            a.readUntil(() -> last.size() == 100, TIMEOUT, keep);
            WalFixture.awaitStreaming(db, addSlot, TIMEOUT);
            db.execute("CREATE TABLE add_b (id int PRIMARY KEY, note text)",
                    "INSERT INTO add_b SELECT g, 'b' || g FROM generate_series(1, 50) g",
                    "UPDATE add_a SET note = 'changed' WHERE id <= 10");
            ConnectFixture.waitFor("add_b in the publication", TIMEOUT, () -> db.queryLong("SELECT count(*) FROM "
                    + "pg_publication_tables WHERE pubname = '" + addSlot + "' AND tablename = 'add_b'") == 1);
            db.execute("UPDATE add_a SET note = 'again' WHERE id <= 5", "UPDATE add_b SET note = 'streamed' WHERE id <= 5",
                    "INSERT INTO add_b VALUES (51, 'inserted')");
            try (TopicReader b = new TopicReader(connect.kafka().bootstrapServers(), List.of("waladd.public.add_b"))) {
                // The snapshot of add_b starts when the task is reconfigured, before or after these
                // writes: 1-5 and 51 arrive from the stream, from the snapshot's chunk, or from both
                // (a 'c' then an 'r' of the same row), and only their last values are certain.
                // Rows 6-50 were written before add_b was published: they come from the chunk alone.
                b.readUntil(() -> addedTableSnapshotDelivered(last, ops), TIMEOUT, keep);
                // The chunk has been read and delivered, so a row inserted now can only be streamed.
                db.execute("INSERT INTO add_b VALUES (52, 'after the snapshot')");
                b.readUntil(() -> "c".equals(ops.get("waladd.public.add_b/52")), TIMEOUT, keep);
            }
            a.readUntil(() -> "again".equals(textOf(last.get("waladd.public.add_a/5"))), TIMEOUT, keep);
        }
        for (int id = 1; id <= 10; id++) {
            assertEquals(id <= 5 ? "again" : "changed", textOf(last.get("waladd.public.add_a/" + id)), "add_a " + id);
        }
        for (int id = 1; id <= 52; id++) {
            String expected = id <= 5 ? "streamed" : id == 51 ? "inserted" : id == 52 ? "after the snapshot" : "b" + id;
            assertEquals(expected, textOf(last.get("waladd.public.add_b/" + id)), "add_b " + id);
        }
        assertEquals("r", ops.get("waladd.public.add_b/20"), "the added table was snapshotted");
        assertEquals("c", ops.get("waladd.public.add_b/52"), "then its changes streamed");
    }

    /** add_b's chunk is in the topic: 6-50 as reads, and 1-5 and 51 with their values after the writes. */
    private static boolean addedTableSnapshotDelivered(Map<String, JsonNode> last, Map<String, String> ops) {
        for (int id = 6; id <= 50; id++) {
            if (!"r".equals(ops.get("waladd.public.add_b/" + id))) {
                return false;
            }
        }
        for (int id = 1; id <= 5; id++) {
            if (!"streamed".equals(textOf(last.get("waladd.public.add_b/" + id)))) {
                return false;
            }
        }
        return "inserted".equals(textOf(last.get("waladd.public.add_b/51")));
    }

    private static String textOf(JsonNode value) {
        return value == null || value.get("note") == null ? null : value.get("note").asText();
    }

    /**
     * While no captured table changes, the slot's confirmed position keeps up: 100 MB of WAL
     * written to a table the connector does not capture leaves the slot within 16 MB of
     * pg_current_wal_lsn() within 60 s.
     */
    @Test
    void anIdleSlotKeepsUpWithWalWrittenElsewhere() throws Exception {
        db.execute("CREATE TABLE idle_captured (id int PRIMARY KEY)", "CREATE TABLE idle_elsewhere (id int, pad text)");
        connect.configureConnector("walidle", WalFixture.walConfig(db, "walidle", "public\\.idle_captured", idleSlot,
                "never"));
        WalFixture.awaitStreaming(db, idleSlot, TIMEOUT);
        long before = db.queryLong("SELECT (pg_current_wal_lsn() - '0/0')::bigint");
        db.execute("INSERT INTO idle_elsewhere SELECT g, repeat('x', 1000) FROM generate_series(1, 100000) g");
        long written = db.queryLong("SELECT (pg_current_wal_lsn() - '0/0')::bigint") - before;
        assertTrue(written >= 100L << 20, "WAL written: " + written);
        long start = System.nanoTime();
        String behind = "SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint FROM pg_replication_slots"
                + " WHERE slot_name = '" + idleSlot + "'";
        ConnectFixture.waitFor("the slot within 16 MB of the current WAL position", Duration.ofSeconds(60),
                () -> db.queryLong(behind) < 16L << 20);
        System.out.printf("WalCaptureIT idle slot: %d MB of WAL elsewhere, slot within 16 MB after %d ms (%d KB behind)%n",
                written >> 20, (System.nanoTime() - start) / 1_000_000, db.queryLong(behind) >> 10);
    }

    /** truncate.handling=event: a TRUNCATE becomes one record with op t and no key or value, in stream order. */
    @Test
    void aTruncateBecomesAnEventInStreamOrder() throws Exception {
        db.execute("CREATE TABLE trunc_t (id int PRIMARY KEY)");
        connect.configureConnector("waltrunc", WalFixture.walConfig(db, "waltrunc", "public\\.trunc_t", truncateSlot,
                "never"));
        WalFixture.awaitStreaming(db, truncateSlot, TIMEOUT);
        db.execute("INSERT INTO trunc_t VALUES (1), (2)", "TRUNCATE trunc_t", "INSERT INTO trunc_t VALUES (3)");
        List<String> seen = new java.util.ArrayList<>();
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), List.of("waltrunc.public.trunc_t"))) {
            reader.readUntil(() -> seen.size() == 4, TIMEOUT, row -> seen.add(row.op() + ":"
                    + (row.key() == null ? "no key" : row.key().get("id").asText())
                    + (row.value() == null ? "/no value" : "")));
        }
        assertEquals(List.of("c:1", "c:2", "t:no key/no value", "c:3"), seen);
    }

    /** Compares each row of {@code sql} (id, then the columns as text) with the key's last record; returns mismatches. */
    private int compareWithTable(String sql, String[] names, Map<Integer, JsonNode> last) throws Exception {
        int mismatches = 0;
        int rows = 0;
        try (Connection c = db.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                rows++;
                int id = rs.getInt(1);
                JsonNode value = last.get(id);
                if (value == null) {
                    mismatches++;
                    System.out.println("row " + id + ": no record, or its last is a tombstone");
                    continue;
                }
                for (int i = 0; i < names.length; i++) {
                    String expected = rs.getString(i + 2);
                    JsonNode field = value.get(names[i]);
                    String actual = field == null || field.isNull() ? null
                            : field.isNumber() ? field.decimalValue().toPlainString() : field.asText();
                    if (!java.util.Objects.equals(expected, actual)) {
                        mismatches++;
                        System.out.println("row " + id + " column " + names[i] + ": expected " + abbreviate(expected)
                                + ", got " + abbreviate(actual));
                    }
                }
            }
        }
        // A record for a key the table no longer has must be a tombstone.
        long live = last.values().stream().filter(java.util.Objects::nonNull).count();
        if (live != rows) {
            System.out.println(live + " keys end in a row, the table has " + rows);
            mismatches++;
        }
        return mismatches;
    }

    private static String abbreviate(String text) {
        return text == null ? null : text.length() <= 40 ? text : text.substring(0, 40) + "… (" + text.length() + ")";
    }
}

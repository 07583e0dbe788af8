package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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
 * record.format=envelope in capture.mode=wal through a real worker: a snapshot row, then an
 * insert, an update, a key change and a delete, each its own transaction, on a table with
 * REPLICA IDENTITY DEFAULT and one with FULL. Every envelope's op, before, after, source.table,
 * source.txId and source.lsn is checked against what PostgreSQL said around each transaction:
 * the rows it printed before and after, its transaction id and its WAL position before and after.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WalEnvelopeIT {

    private static final Duration TIMEOUT = Duration.ofMinutes(1);
    private static final String PREFIX = "walenv";

    private TestDatabase db;
    private EmbeddedConnectCluster connect;
    private final String slot = WalFixture.uniqueName("envelope");
    private final String rowSlot = WalFixture.uniqueName("env_row");
    private final String unwrapSlot = WalFixture.uniqueName("env_unwrap");

    /** What PostgreSQL said about one transaction of the test. */
    private record Step(String table, String what, long xid, long lsnBefore, long lsnAfter,
                        Map<String, String> rowBefore, Map<String, String> rowAfter) {
    }

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("wal_envelope");
        db.execute("CREATE TABLE env_default (id int PRIMARY KEY, note text NOT NULL, qty int)",
                "CREATE TABLE env_full (id int PRIMARY KEY, note text NOT NULL, qty int)",
                "ALTER TABLE env_full REPLICA IDENTITY FULL",
                "INSERT INTO env_default VALUES (100, 'snap', 1)",
                "INSERT INTO env_full VALUES (100, 'snap', 1)",
                "CREATE TABLE env_unwrap (id int PRIMARY KEY, note text NOT NULL, qty int, price numeric(10,2))",
                "ALTER TABLE env_unwrap REPLICA IDENTITY FULL");
        connect = ConnectFixture.start("wal-envelope");
    }

    @AfterAll
    void tearDown() {
        // Each test deletes its connectors; the slots go here too, in case a test failed before that.
        try {
            WalFixture.dropSlotAndPublication(db, slot);
            WalFixture.dropSlotAndPublication(db, rowSlot);
            WalFixture.dropSlotAndPublication(db, unwrapSlot);
        } finally {
            ConnectFixture.stopAll(connect, db);
        }
    }

    @Test
    void envelopesMatchWhatPostgresSaidAroundEachChange() throws Exception {
        try {
            checkEnvelopes();
        } finally {
            deleteQuietly(PREFIX);
            WalFixture.dropSlotAndPublication(db, slot);
        }
    }

    private void checkEnvelopes() throws Exception {
        Map<String, String> config = WalFixture.walConfig(db, PREFIX, "public\\.env_(default|full)", slot, "initial");
        config.put("record.format", "envelope");
        connect.configureConnector(PREFIX, config);
        WalFixture.awaitStreaming(db, slot, TIMEOUT);
        List<String> topics = List.of(PREFIX + ".public.env_default", PREFIX + ".public.env_full");
        // The snapshot runs beside the stream: its rows first, so each change below follows them.
        java.util.Set<String> snapshotted = new java.util.HashSet<>();
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), topics)) {
            reader.readUntil(() -> snapshotted.size() == 2, TIMEOUT, row -> snapshotted.add(row.topic()));
        }

        List<Step> steps = new ArrayList<>();
        for (String table : List.of("env_default", "env_full")) {
            steps.add(step(table, "insert", 1, "INSERT INTO " + table + " VALUES (1, 'a', 10)"));
            steps.add(step(table, "update", 1, "UPDATE " + table + " SET note = 'b', qty = NULL WHERE id = 1"));
            steps.add(step(table, "key change", 1, "UPDATE " + table + " SET id = 2 WHERE id = 1"));
            steps.add(step(table, "delete", 2, "DELETE FROM " + table + " WHERE id = 2"));
            db.execute("INSERT INTO " + table + " VALUES (-1, 'sentinel', 0)");
        }

        Map<String, List<TopicReader.Row>> byTable = new java.util.HashMap<>();
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), topics)) {
            reader.readUntil(() -> topics.stream().allMatch(t -> byTable.getOrDefault(t, List.of()).stream()
                    .anyMatch(r -> r.key().get("id").asInt() == -1)), TIMEOUT,
                    row -> byTable.computeIfAbsent(row.topic(), t -> new ArrayList<>()).add(row));
        }

        for (String table : List.of("env_default", "env_full")) {
            boolean full = table.equals("env_full");
            List<TopicReader.Row> rows = byTable.get(PREFIX + ".public." + table);
            List<Step> mine = steps.stream().filter(s -> s.table().equals(table)).toList();
            // snapshot r, insert c, update u, key change d + tombstone + c, delete d + tombstone, sentinel c
            assertEquals(List.of("r", "c", "u", "d", "tombstone", "c", "d", "tombstone", "c"),
                    rows.stream().map(WalEnvelopeIT::envelopeOp).toList(), table + ": " + rows);

            TopicReader.Row snapshot = rows.get(0);
            assertTrue(snapshot.value().get("before").isNull(), "a snapshot read has no before");
            assertEquals("snap", snapshot.value().get("after").get("note").asText());
            assertEquals("last_in_data_collection", snapshot.value().get("source").get("snapshot").asText());
            assertTrue(snapshot.value().get("source").get("lsn").isNull(), "a snapshot row has no LSN");

            Step insert = mine.get(0), update = mine.get(1), keyChange = mine.get(2), delete = mine.get(3);
            check(rows.get(1), insert, null, insert.rowAfter(), "c");
            check(rows.get(2), update, full ? update.rowBefore() : null, update.rowAfter(), "u");
            // As Debezium: the old key's delete (the whole old row with FULL, else its key alone), a tombstone,
            // then the new key's create with no before.
            check(rows.get(3), keyChange, full ? keyChange.rowBefore() : keyOnly(keyChange.rowBefore()), null, "d");
            assertNull(rows.get(4).value(), "the old key's tombstone");
            assertEquals(1, rows.get(4).key().get("id").asInt());
            check(rows.get(5), keyChange, null, keyChange.rowAfter(), "c");
            assertEquals("u", rows.get(5).op(), "the pgkeyset.op header stays as in record.format=row");
            // Debezium's headers naming the other event's key.
            System.out.println(table + " key change headers: " + rows.get(3).headers() + " / " + rows.get(5).headers());
            assertEquals(keyHeader(2), rows.get(3).header("__debezium.newkey"));
            assertEquals(keyHeader(1), rows.get(5).header("__debezium.oldkey"));
            assertNull(rows.get(3).header("__debezium.oldkey"));
            assertNull(rows.get(5).header("__debezium.newkey"));
            assertNull(rows.get(1).header("__debezium.oldkey"), "an insert names no other key");
            check(rows.get(6), delete, full ? delete.rowBefore() : keyOnly(delete.rowBefore()), null, "d");
            assertNull(rows.get(7).value(), "the delete's tombstone");
            assertEquals(2, rows.get(7).key().get("id").asInt());
        }
    }

    /**
     * Debezium's own ExtractNewRecordState in the worker, on our envelope, in its mode that keeps
     * tombstones and rewrites each delete event into the old row with {@code __deleted=true}: what
     * comes out is, record for record, what record.format=row sends for the same changes (with
     * {@code __deleted=false} added), except that each of our tombstones is preceded by the deleted
     * row. The row format's own records, from a second slot, are the expectation.
     */
    @Test
    void debeziumsExtractNewRecordStateGivesOurRowRecords() throws Exception {
        try {
            compareUnwrappedWithRows();
        } finally {
            deleteQuietly("walrow");
            deleteQuietly("walunwrap");
            WalFixture.dropSlotAndPublication(db, rowSlot);
            WalFixture.dropSlotAndPublication(db, unwrapSlot);
        }
    }

    private void deleteQuietly(String connector) {
        try {
            connect.deleteConnector(connector);
        } catch (RuntimeException e) {
            System.out.println("could not delete connector " + connector + ": " + e);
        }
    }

    private void compareUnwrappedWithRows() throws Exception {
        connect.configureConnector("walrow", WalFixture.walConfig(db, "walrow", "public\\.env_unwrap", rowSlot,
                "never"));
        Map<String, String> unwrap = WalFixture.walConfig(db, "walunwrap", "public\\.env_unwrap", unwrapSlot, "never");
        unwrap.put("record.format", "envelope");
        unwrap.put("transforms", "unwrap");
        unwrap.put("transforms.unwrap.type", "io.debezium.transforms.ExtractNewRecordState");
        unwrap.put("transforms.unwrap.delete.tombstone.handling.mode", "rewrite-with-tombstone");
        connect.configureConnector("walunwrap", unwrap);
        WalFixture.awaitStreaming(db, rowSlot, TIMEOUT);
        WalFixture.awaitStreaming(db, unwrapSlot, TIMEOUT);

        long seed = Long.getLong("seed", System.nanoTime());
        System.out.println("WalEnvelopeIT seed " + seed);
        java.util.Random random = new java.util.Random(seed);
        java.util.Set<Integer> live = new java.util.TreeSet<>();
        int nextId = 1;
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            for (int op = 0; op < 80; op++) {
                // Some rows first, so that updates, deletes and key changes spread over several keys.
                int kind = op < 15 || live.size() < 3 ? 0 : random.nextInt(4);
                List<Integer> ids = List.copyOf(live);
                int id = ids.isEmpty() ? 0 : ids.get(random.nextInt(ids.size()));
                if (kind == 0) {
                    st.execute("INSERT INTO env_unwrap VALUES (" + nextId + ", 'n" + op + "', "
                            + (random.nextBoolean() ? "NULL" : String.valueOf(random.nextInt(1000))) + ", "
                            + random.nextInt(100_000) / 100.0 + ")");
                    live.add(nextId++);
                } else if (kind == 1) {
                    st.execute("UPDATE env_unwrap SET note = 'u" + op + "', qty = coalesce(qty, 0) + 1 WHERE id = " + id);
                } else if (kind == 2) {
                    st.execute("DELETE FROM env_unwrap WHERE id = " + id);
                    live.remove(id);
                } else {
                    st.execute("UPDATE env_unwrap SET id = " + nextId + " WHERE id = " + id);
                    live.remove(id);
                    live.add(nextId++);
                }
            }
            st.execute("INSERT INTO env_unwrap VALUES (-1, 'sentinel', 0, 0)");
        }

        List<TopicReader.Row> rows = readUntilSentinel("walrow.public.env_unwrap");
        List<TopicReader.Row> unwrapped = readUntilSentinel("walunwrap.public.env_unwrap");
        List<String> expected = new ArrayList<>();
        Map<String, JsonNode> lastRow = new java.util.HashMap<>();
        for (TopicReader.Row row : rows) {
            String key = row.key().toString();
            if (row.value() == null) {
                com.fasterxml.jackson.databind.node.ObjectNode deleted = lastRow.get(key).deepCopy();
                deleted.put("__deleted", "true");
                expected.add(key + " " + deleted);
                expected.add(key + " tombstone");
            } else {
                lastRow.put(key, row.value());
                com.fasterxml.jackson.databind.node.ObjectNode kept = row.value().deepCopy();
                kept.put("__deleted", "false");
                expected.add(key + " " + kept);
            }
        }
        List<String> actual = unwrapped.stream().map(r -> r.key() + " " + (r.value() == null ? "tombstone"
                : withDeletedAsText(r.value()))).toList();
        assertTrue(rows.stream().anyMatch(r -> r.value() == null), "the workload deleted rows");
        assertEquals(expected, actual);
    }

    private static JsonNode withDeletedAsText(JsonNode value) {
        com.fasterxml.jackson.databind.node.ObjectNode copy = value.deepCopy();
        JsonNode deleted = copy.get("__deleted");
        if (deleted != null) {
            copy.put("__deleted", deleted.asText());
        }
        return copy;
    }

    private List<TopicReader.Row> readUntilSentinel(String topic) {
        List<TopicReader.Row> rows = new ArrayList<>();
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), List.of(topic))) {
            reader.readUntil(() -> rows.stream().anyMatch(r -> r.key().get("id").asInt() == -1), TIMEOUT, rows::add);
        }
        return rows;
    }

    /** Runs one statement in its own transaction, recording what PostgreSQL says around it. */
    private Step step(String table, String what, int rowId, String sql) throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            long lsnBefore = Lsn.parse(text(st, "SELECT pg_current_wal_insert_lsn()::text"));
            Map<String, String> rowBefore = row(st, table, rowId);
            c.setAutoCommit(false);
            st.execute(sql);
            long xid = Long.parseLong(text(st, "SELECT (txid_current() % 4294967296)::text"));
            c.commit();
            c.setAutoCommit(true);
            int afterId = what.equals("key change") ? 2 : rowId;
            Map<String, String> rowAfter = row(st, table, afterId);
            long lsnAfter = Lsn.parse(text(st, "SELECT pg_current_wal_insert_lsn()::text"));
            return new Step(table, what, xid, lsnBefore, lsnAfter, rowBefore, rowAfter);
        }
    }

    private static String text(Statement st, String sql) throws Exception {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** The row as PostgreSQL prints each column, or null when there is none. */
    private static Map<String, String> row(Statement st, String table, int id) throws Exception {
        try (ResultSet rs = st.executeQuery("SELECT id::text, note, qty::text FROM " + table + " WHERE id = " + id)) {
            if (!rs.next()) {
                return null;
            }
            Map<String, String> row = new java.util.HashMap<>();
            row.put("id", rs.getString(1));
            row.put("note", rs.getString(2));
            row.put("qty", rs.getString(3));
            return row;
        }
    }

    private static Map<String, String> keyOnly(Map<String, String> row) {
        Map<String, String> key = new java.util.HashMap<>();
        key.put("id", row.get("id"));
        key.put("note", null);
        key.put("qty", null);
        return key;
    }

    /** A key Struct {id} as the worker's default header converter writes it. */
    private static String keyHeader(int id) {
        org.apache.kafka.connect.data.Schema key = org.apache.kafka.connect.data.SchemaBuilder.struct()
                .field("id", org.apache.kafka.connect.data.Schema.INT32_SCHEMA).build();
        try (org.apache.kafka.connect.storage.SimpleHeaderConverter converter =
                     new org.apache.kafka.connect.storage.SimpleHeaderConverter()) {
            converter.configure(Map.of());
            return new String(converter.fromConnectHeader("t", "h", key,
                    new org.apache.kafka.connect.data.Struct(key).put("id", id)), java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String envelopeOp(TopicReader.Row row) {
        return row.value() == null ? "tombstone" : row.value().get("op").asText();
    }

    private void check(TopicReader.Row row, Step step, Map<String, String> before, Map<String, String> after,
                       String op) {
        String where = step.table() + " " + step.what() + ": " + row.value();
        JsonNode value = row.value();
        assertEquals(op, value.get("op").asText(), where);
        assertEquals(before, asRow(value.get("before")), where + " (before)");
        assertEquals(after, asRow(value.get("after")), where + " (after)");
        JsonNode source = value.get("source");
        assertEquals("postgresql", source.get("connector").asText(), where);
        assertEquals(PREFIX, source.get("name").asText(), where);
        assertEquals(db.name(), source.get("db").asText(), where);
        assertEquals("public", source.get("schema").asText(), where);
        assertEquals(step.table(), source.get("table").asText(), where);
        assertEquals("false", source.get("snapshot").asText(), where);
        assertEquals(step.xid(), source.get("txId").asLong(), where);
        long lsn = source.get("lsn").asLong();
        assertTrue(Long.compareUnsigned(lsn, step.lsnBefore()) >= 0 && Long.compareUnsigned(lsn, step.lsnAfter()) < 0,
                where + ": lsn " + Lsn.format(lsn) + " not within " + Lsn.format(step.lsnBefore()) + ".."
                        + Lsn.format(step.lsnAfter()));
        assertNotNull(source.get("ts_ms"), where);
        assertEquals(row.key().get("id").asText(), (after != null ? after : before).get("id"), where + " (key)");
    }

    private static Map<String, String> asRow(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        Map<String, String> row = new java.util.HashMap<>();
        for (String name : List.of("id", "note", "qty")) {
            JsonNode field = node.get(name);
            row.put(name, field == null || field.isNull() ? null : field.asText());
        }
        return row;
    }
}

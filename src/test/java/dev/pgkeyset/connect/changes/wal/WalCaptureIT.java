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

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("wal_capture");
        db.execute("CREATE TABLE items (id int PRIMARY KEY, note text, qty int, price numeric(10,2), big text)",
                // No compression: the value stays ~6 KB, so it is stored out of line (TOAST).
                "ALTER TABLE items ALTER COLUMN big SET STORAGE EXTERNAL");
        connect = ConnectFixture.start("wal-capture");
    }

    @AfterAll
    void tearDown() {
        try {
            if (connect != null) {
                connect.deleteConnector("walcap");
            }
        } catch (RuntimeException ignored) {
            // the cluster stops anyway
        } finally {
            try {
                WalFixture.dropSlotAndPublication(db, slot);
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

    private static String abbreviate(String text) {
        return text == null ? null : text.length() <= 40 ? text : text.substring(0, 40) + "… (" + text.length() + ")";
    }
}

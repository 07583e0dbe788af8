package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.WalFixture;

/**
 * An unchanged out-of-line value is fetched by key; the row found is matched to its change by the
 * key's value. Keys whose text form and selected form could differ (char(n) with its padding,
 * numeric with trailing zeros) must still find their row: otherwise the record goes out with the
 * column null and a pgkeyset.unavailable header although the row exists.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WalToastFetchKeyTypesIT {

    private TestDatabase db;
    private final String name = WalFixture.uniqueName("toastkey");

    @BeforeAll
    void setUp() {
        db = PostgresFixture.createDatabase("adv_a_toast_key");
        // Incompressible ~8 KB values, stored out of line.
        db.execute("CREATE TABLE ck (k char(5) PRIMARY KEY, n int, big text)",
                "CREATE TABLE nk (k numeric(6,2) PRIMARY KEY, n int, big text)",
                "INSERT INTO ck SELECT 'ab', 1, string_agg(md5(g::text), '') FROM generate_series(1, 250) g",
                "INSERT INTO nk SELECT 1.50, 1, string_agg(md5(g::text), '') FROM generate_series(1, 250) g");
    }

    @AfterAll
    void tearDown() {
        try {
            WalFixture.dropSlotAndPublication(db, name);
        } finally {
            if (db != null) {
                db.close();
            }
        }
    }

    @Test
    void anUnchangedToastValueIsFoundByAPaddedOrScaledKey() throws Exception {
        Map<String, String> config = WalFixture.walConfig(db, "toastkey", "public\\.(ck|nk)", name, "never");
        config.put("poll.interval.ms", "10");
        Map<String, SourceRecord> byTopic = new HashMap<>();
        try (TaskHarness harness = new TaskHarness(config)) {
            harness.start();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (db.queryLong("SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name = '" + name
                    + "'") == 0) {
                assertTrue(System.nanoTime() < deadline, "slot streamed");
                harness.poll();
            }
            db.execute("UPDATE ck SET n = 2", "UPDATE nk SET n = 2");
            while (byTopic.size() < 2) {
                assertTrue(System.nanoTime() < deadline, "two updates; got " + byTopic.keySet());
                List<SourceRecord> records = harness.poll();
                if (records != null) {
                    records.forEach(r -> byTopic.put(r.topic().substring(r.topic().lastIndexOf('.') + 1), r));
                }
            }
        }
        for (String table : List.of("ck", "nk")) {
            SourceRecord r = byTopic.get(table);
            assertNull(r.headers().lastWithName("pgkeyset.unavailable"), table + ": the row exists, yet "
                    + r.headers().lastWithName("pgkeyset.unavailable"));
            String expected;
            try (var c = db.connect(); Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("SELECT big FROM " + table)) {
                rs.next();
                expected = rs.getString(1);
            }
            assertEquals(expected, ((Struct) r.value()).getString("big"), table + ": the unchanged value");
        }
    }
}

package dev.pgkeyset.connect.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.config.TableSlice;
import dev.pgkeyset.connect.offset.KeySplit;
import dev.pgkeyset.connect.pg.Catalog;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.pg.TableInfo;
import dev.pgkeyset.connect.query.KeysetQuery;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.RestartingReader;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.tables.CapturedTable;
import dev.pgkeyset.connect.record.TablePlan;
import dev.pgkeyset.connect.changes.query.ChangeHorizon;

/**
 * Keys whose converter selects them through a cast ({@code "n"::text} for numeric, citext, enums…)
 * are still ordered by the typed column: every reopen of a cursor (a restart, cursor.max.age.ms)
 * seeks with {@code (key) > (position)}, which compares the typed values, so an order by the text
 * would skip rows. The expected order is PostgreSQL's own {@code ORDER BY} of the typed columns,
 * and each row carries an id ({@code rid}) outside the key to compare by.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KeyOrderIT {

    private TestDatabase db;

    @BeforeAll
    void setUp() {
        db = PostgresFixture.createDatabase("key_order");
        db.execute("CREATE EXTENSION IF NOT EXISTS citext",
                "CREATE TABLE nums (n numeric PRIMARY KEY, rid int NOT NULL)",
                "INSERT INTO nums SELECT g, g FROM generate_series(1, 20) g",
                "CREATE TABLE ci (k citext PRIMARY KEY, rid int NOT NULL)",
                "INSERT INTO ci VALUES ('a', 1), ('B', 2), ('c', 3), ('D', 4), ('e', 5), ('F', 6)",
                "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
                "CREATE TABLE moods (m mood, i int, rid int NOT NULL, PRIMARY KEY (m, i))",
                "INSERT INTO moods VALUES ('sad', 1, 1), ('ok', 1, 2), ('happy', 1, 3), ('sad', 2, 4), ('ok', 2, 5),"
                        + " ('happy', 2, 6)",
                "CREATE TABLE big_nums (n numeric PRIMARY KEY, version numeric NOT NULL, pad text)",
                "INSERT INTO big_nums SELECT g, g % 1000, 'p' FROM generate_series(1, 50000) g",
                "CREATE INDEX ON big_nums (version, n)",
                "CREATE TABLE versioned (n int PRIMARY KEY, version numeric NOT NULL, rid int NOT NULL)",
                "CREATE INDEX ON versioned (version, n)",
                "INSERT INTO versioned SELECT g, 21 - g, g FROM generate_series(1, 20) g",
                "ANALYZE");
    }

    @AfterAll
    void tearDown() {
        if (db != null) {
            db.close();
        }
    }

    private List<Object> expectedRids(String sql) throws Exception {
        List<Object> rids = new ArrayList<>();
        try (Connection c = db.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                rids.add(rs.getInt(1));
            }
        }
        return rids;
    }

    private Map<String, String> props(String table, int batchRows) {
        Map<String, String> props = db.connectorConfig("o", "public\\." + table);
        props.put("batch.max.rows", Integer.toString(batchRows));
        props.put("poll.interval.ms", "10");
        return props;
    }

    @Test
    void numericKeyResumedAfterEveryPollLosesNothing() throws Exception {
        List<SourceRecord> records = RestartingReader.readAll(props("nums", 5), poll -> true, 0);
        assertEquals(expectedRids("SELECT rid FROM nums ORDER BY n"), RestartingReader.valueField(records, "rid"),
                "every row once, in numeric order, with a restart after each poll of 5 rows");
    }

    @Test
    void numericKeyReopenedByCursorMaxAgeLosesNothing() throws Exception {
        Map<String, String> props = props("nums", 5);
        props.put("cursor.max.age.ms", "1000");
        props.put("fetch.size", "3");
        List<SourceRecord> records = RestartingReader.readAll(props, poll -> false, 1100);
        assertEquals(expectedRids("SELECT rid FROM nums ORDER BY n"), RestartingReader.valueField(records, "rid"),
                "every row once, the cursor reopened before each poll");
    }

    @Test
    void citextKeyResumesInItsOwnOrder() throws Exception {
        List<SourceRecord> records = RestartingReader.readAll(props("ci", 1), poll -> true, 0);
        assertEquals(expectedRids("SELECT rid FROM ci ORDER BY k"), RestartingReader.valueField(records, "rid"));
    }

    @Test
    void enumAndIntegerKeyResumesInTheEnumsOrder() throws Exception {
        List<SourceRecord> records = RestartingReader.readAll(props("moods", 1), poll -> true, 0);
        assertEquals(expectedRids("SELECT rid FROM moods ORDER BY m, i"), RestartingReader.valueField(records, "rid"));
    }

    @Test
    void numericTrackingColumnResumedAfterEveryPollLosesNoChange() throws Exception {
        Map<String, String> props = props("versioned", 5);
        props.put("snapshot.mode", "never");
        props.put("incremental.start", "earliest");
        props.put("incremental.columns", "public.versioned:version");
        List<SourceRecord> records = RestartingReader.readAll(props, poll -> true, 0);
        assertEquals(expectedRids("SELECT rid FROM versioned ORDER BY version, n"),
                RestartingReader.valueField(records, "rid"), "every change once, in numeric order of the version");
    }

    private String explain(KeysetQuery query) throws Exception {
        StringBuilder plan = new StringBuilder();
        try (Connection c = db.connect(); PreparedStatement st = c.prepareStatement("EXPLAIN " + query.sql())) {
            query.bind(st);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    plan.append(rs.getString(1)).append('\n');
                }
            }
        }
        return plan.toString();
    }

    private CapturedTable captured(String table, Map<String, String> extra) throws Exception {
        Map<String, String> props = db.connectorConfig("o", "public\\." + table);
        props.putAll(extra);
        PgKeysetConfig config = new PgKeysetConfig(props);
        try (Connection c = db.connect()) {
            TableInfo info = Catalog.tables(c, id -> id.equals(new TableId("public", table))).get(0);
            return CapturedTable.resolve(info, config).table();
        }
    }

    @Test
    void everyKeysetQueryOfANumericKeyWalksItsIndex() throws Exception {
        Map<String, String> extra = Map.of("snapshot.mode", "initial", "incremental.columns", "public.big_nums:version");
        CapturedTable table = captured("big_nums", extra);
        PgKeysetConfig config = new PgKeysetConfig(withConnection(extra));
        TablePlan whole = new TablePlan(table, config);
        TablePlan range = new TablePlan(table, config, TableSlice.range(table.info().id(), 1,
                new KeySplit(List.of(List.of("1000"), List.of("30000")))));
        Map<String, String> plans = Map.of(
                "first snapshot cursor", explain(whole.snapshotQuery(List.of())),
                "resumed snapshot cursor", explain(whole.snapshotQuery(List.of("19"))),
                "key range, first cursor", explain(range.snapshotQuery(List.of())),
                "key range, resumed", explain(range.snapshotQuery(List.of("20000"))),
                "change query", explain(whole.changesQuery(List.of("5", "100"), null,
                        new ChangeHorizon.Bound("900", false))));
        plans.forEach((what, plan) -> {
            assertFalse(plan.contains("Sort"), what + ": no sort, the index gives the order:\n" + plan);
            assertFalse(plan.contains("::text"), what + ": nothing ordered or compared as text:\n" + plan);
            assertTrue(plan.contains("Index Scan using big_nums"), what + ": an index scan:\n" + plan);
        });
        assertTrue(plans.get("change query").contains("big_nums_version_n_idx"), plans.get("change query"));
    }

    private Map<String, String> withConnection(Map<String, String> extra) {
        Map<String, String> props = db.connectorConfig("o", "public\\.big_nums");
        props.putAll(extra);
        return props;
    }
}

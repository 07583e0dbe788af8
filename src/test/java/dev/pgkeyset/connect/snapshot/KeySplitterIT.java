package dev.pgkeyset.connect.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.tables.CapturedTable;
import dev.pgkeyset.connect.record.TablePlan;

/**
 * Split points sampled from real tables with integer, text (ICU collation), uuid and composite
 * keys: the ranges' own queries, as the readers run them, together return every row exactly once,
 * and each range holds a fair share.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KeySplitterIT {

    private static final int ROWS = 200_000;
    private static final int BIG = 1_000_000;

    private TestDatabase db;

    @BeforeAll
    void setUp() {
        db = PostgresFixture.createDatabase("key_splitter");
        db.execute("CREATE TABLE by_int (id bigint PRIMARY KEY, pad text)",
                "INSERT INTO by_int SELECT g, 'p' FROM generate_series(1, " + ROWS + ") g",
                "CREATE TABLE by_text (name text COLLATE \"de-x-icu\" PRIMARY KEY)",
                "INSERT INTO by_text SELECT (ARRAY['Ä','a','B','ö','z'])[1 + g % 5] || md5(g::text)"
                        + " FROM generate_series(1, " + ROWS + ") g",
                "CREATE TABLE by_uuid (id uuid PRIMARY KEY)",
                "INSERT INTO by_uuid SELECT md5(g::text)::uuid FROM generate_series(1, " + ROWS + ") g",
                "CREATE TABLE by_pair (region text, seq int, PRIMARY KEY (region, seq))",
                "INSERT INTO by_pair SELECT (ARRAY['eu','us','ap'])[1 + g % 3], g FROM generate_series(1, " + ROWS
                        + ") g",
                "CREATE TABLE by_part (id bigint PRIMARY KEY) PARTITION BY RANGE (id)",
                "CREATE TABLE by_part_1 PARTITION OF by_part FOR VALUES FROM (MINVALUE) TO (" + ROWS / 2 + ")",
                "CREATE TABLE by_part_2 PARTITION OF by_part FOR VALUES FROM (" + ROWS / 2 + ") TO (MAXVALUE)",
                "INSERT INTO by_part SELECT g FROM generate_series(1, " + ROWS + ") g",
                "CREATE TABLE by_numeric (n numeric PRIMARY KEY)",
                "INSERT INTO by_numeric SELECT g FROM generate_series(1, " + ROWS + ") g",
                // Statistics that say far fewer rows than there are: a table that grew after its
                // last ANALYZE (autovacuum kept off so it stays so), and a reltuples faked low.
                "CREATE TABLE grown (id bigint PRIMARY KEY) WITH (autovacuum_enabled = false)",
                "INSERT INTO grown SELECT g FROM generate_series(1, " + ROWS / 20 + ") g",
                "ANALYZE",
                "INSERT INTO grown SELECT g FROM generate_series(" + (ROWS / 20 + 1) + ", " + BIG + ") g",
                "CREATE TABLE faked (id bigint PRIMARY KEY) WITH (autovacuum_enabled = false)",
                "INSERT INTO faked SELECT g FROM generate_series(1, " + BIG + ") g",
                "ANALYZE faked",
                "UPDATE pg_class SET reltuples = 1000 WHERE oid = 'faked'::regclass");
    }

    @AfterAll
    void tearDown() {
        db.close();
    }

    private void assertRangesCoverTheTableOnce(String table, int ranges) throws Exception {
        PgKeysetConfig config = new PgKeysetConfig(db.connectorConfig("s", "public\\." + table));
        try (Connection c = db.connect()) {
            TableInfo info = Catalog.tables(c, id -> id.equals(new TableId("public", table))).get(0);
            CapturedTable captured = CapturedTable.resolve(info, config).table();
            KeySplit split = KeySplitter.split(c, captured, config, ranges);
            assertEquals(ranges, split.ranges(), table + ": " + split.json());
            List<Long> counts = new ArrayList<>();
            for (int i = 0; i < split.ranges(); i++) {
                TablePlan plan = new TablePlan(captured, config, TableSlice.range(info.id(), i, split));
                KeysetQuery query = plan.snapshotQuery(List.of());
                try (PreparedStatement st = c.prepareStatement("SELECT count(*) FROM (" + query.sql() + ") q")) {
                    query.bind(st);
                    try (ResultSet rs = st.executeQuery()) {
                        rs.next();
                        counts.add(rs.getLong(1));
                    }
                }
            }
            System.out.printf("%s split %s: rows per range %s%n", table, split.json().length() > 120
                    ? split.json().substring(0, 120) + "…" : split.json(), counts);
            assertEquals(ROWS, counts.stream().mapToLong(Long::longValue).sum(), table + ": every row in one range");
            for (long count : counts) {
                assertTrue(count > ROWS / ranges / 3, table + ": a fair share in each range: " + counts);
            }
        }
    }

    private CapturedTable captured(Connection c, String table) throws Exception {
        PgKeysetConfig config = new PgKeysetConfig(db.connectorConfig("s", "public\\." + table));
        TableInfo info = Catalog.tables(c, id -> id.equals(new TableId("public", table))).get(0);
        return CapturedTable.resolve(info, config).table();
    }

    /**
     * Rows per range of a one-column key, counted by PostgreSQL with plain comparisons of the typed
     * column (not the readers' queries), and checked: every row in exactly one range, each range a
     * fair share.
     */
    private void assertFairSplitOfOneColumn(Connection c, String table, String column, String type, KeySplit split,
                                            long rows) throws Exception {
        List<Long> counts = new ArrayList<>();
        for (int i = 0; i < split.ranges(); i++) {
            List<Object> lower = split.lower(i);
            List<Object> upper = split.upper(i);
            String sql = "SELECT count(*) FROM " + table + " WHERE true"
                    + (lower.isEmpty() ? "" : " AND " + column + " >= CAST(? AS " + type + ")")
                    + (upper.isEmpty() ? "" : " AND " + column + " < CAST(? AS " + type + ")");
            try (PreparedStatement st = c.prepareStatement(sql)) {
                int p = 1;
                for (List<Object> bound : List.of(lower, upper)) {
                    if (!bound.isEmpty()) {
                        st.setString(p++, bound.get(0).toString());
                    }
                }
                try (ResultSet rs = st.executeQuery()) {
                    rs.next();
                    counts.add(rs.getLong(1));
                }
            }
        }
        System.out.printf("%s split %s: rows per range (counted by PostgreSQL) %s%n", table, split.json(), counts);
        assertEquals(rows, counts.stream().mapToLong(Long::longValue).sum(), table + ": every row in one range");
        for (long count : counts) {
            assertTrue(count > rows / split.ranges() / 3, table + ": a fair share in each range: " + counts);
        }
    }

    @Test
    void numericKeysSplitByTheirValueNotTheirText() throws Exception {
        try (Connection c = db.connect()) {
            CapturedTable table = captured(c, "by_numeric");
            KeySplit split = KeySplitter.split(c, table, new PgKeysetConfig(db.connectorConfig("s", "x")), 4);
            assertEquals(4, split.ranges(), split.json());
            assertFairSplitOfOneColumn(c, "by_numeric", "n", "numeric", split, ROWS);
        }
    }

    @Test
    void partitionedTablesAreSampledOverTheirPartitions() throws Exception {
        try (Connection c = db.connect()) {
            CapturedTable table = captured(c, "by_part");
            PgKeysetConfig config = new PgKeysetConfig(db.connectorConfig("s", "x"));
            int sampled = KeySplitter.sample(c, table, config).size();
            assertTrue(sampled >= KeySplitter.SAMPLE_ROWS / 4 && sampled <= KeySplitter.SAMPLE_LIMIT, "sampled " + sampled);
            assertFairSplitOfOneColumn(c, "by_part", "id", "bigint", KeySplitter.split(c, table, config, 4), ROWS);
        }
    }

    @Test
    void theSampleStaysBoundedWhenTheTableGrewSinceItsStatistics() throws Exception {
        try (Connection c = db.connect()) {
            CapturedTable table = captured(c, "grown");
            assertTrue(table.info().estimatedRows() <= ROWS / 20, "stale statistics: " + table.info().estimatedRows());
            PgKeysetConfig config = new PgKeysetConfig(db.connectorConfig("s", "x"));
            int sampled = KeySplitter.sample(c, table, config).size();
            System.out.println("grown: " + sampled + " keys sampled of " + BIG + " rows");
            assertTrue(sampled <= 2 * KeySplitter.SAMPLE_ROWS, "sampled " + sampled);
            assertTrue(sampled >= KeySplitter.SAMPLE_ROWS / 4, "still a useful sample: " + sampled);
            assertFairSplitOfOneColumn(c, "grown", "id", "bigint", KeySplitter.split(c, table, config, 4), BIG);
        }
    }

    @Test
    void theSampleStaysBoundedWhenReltuplesIsFakedLow() throws Exception {
        try (Connection c = db.connect()) {
            CapturedTable table = captured(c, "faked");
            assertEquals(1000, table.info().estimatedRows());
            PgKeysetConfig config = new PgKeysetConfig(db.connectorConfig("s", "x"));
            int sampled = KeySplitter.sample(c, table, config).size();
            System.out.println("faked: " + sampled + " keys sampled of " + BIG + " rows");
            assertTrue(sampled <= 2 * KeySplitter.SAMPLE_ROWS, "sampled " + sampled);
            KeySplit split = KeySplitter.split(c, table, config, 4);
            assertEquals(4, split.ranges(), split.json());
            long inRanges = 0;
            for (int i = 0; i < split.ranges(); i++) {
                List<Object> lower = split.lower(i);
                List<Object> upper = split.upper(i);
                inRanges += db.queryLong("SELECT count(*) FROM faked WHERE true"
                        + (lower.isEmpty() ? "" : " AND id >= " + lower.get(0))
                        + (upper.isEmpty() ? "" : " AND id < " + upper.get(0)));
            }
            assertEquals(BIG, inRanges, "every row in exactly one range");
        }
    }

    @Test
    void integerKeys() throws Exception {
        assertRangesCoverTheTableOnce("by_int", 4);
    }

    @Test
    void textKeysUnderTheirCollation() throws Exception {
        assertRangesCoverTheTableOnce("by_text", 3);
    }

    @Test
    void uuidKeys() throws Exception {
        assertRangesCoverTheTableOnce("by_uuid", 3);
    }

    @Test
    void compositeKeys() throws Exception {
        assertRangesCoverTheTableOnce("by_pair", 4);
    }
}

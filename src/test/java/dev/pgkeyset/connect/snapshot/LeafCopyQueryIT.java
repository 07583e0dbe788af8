package dev.pgkeyset.connect.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.pg.Catalog;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.pg.TableInfo;
import dev.pgkeyset.connect.query.KeysetQuery;
import dev.pgkeyset.connect.record.TablePlan;
import dev.pgkeyset.connect.tables.CapturedTable;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * The chunks of a leaf partition's copy ({@link LeafCopy}) read exactly that leaf's rows through
 * its partitioned table, in key order, and the planner reads only that leaf (its plan names no
 * other; the tables are small, so it may sort rather than walk the index). The expectation is
 * PostgreSQL's own {@code SELECT ... FROM ONLY <leaf> ORDER BY <key>}; rows, leaves and chunk
 * sizes are drawn from a printed seed ({@code -DleafCopy.seed=N} replays it).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LeafCopyQueryIT {

    private TestDatabase db;
    private long seed;

    @BeforeAll
    void setUp() {
        String given = System.getProperty("leafCopy.seed");
        seed = given == null || given.isBlank() ? System.nanoTime() : Long.parseLong(given);
        System.out.println("LeafCopyQueryIT seed " + seed + " (replay: -DleafCopy.seed=" + seed + ")");
        Random random = new Random(seed);
        db = PostgresFixture.createDatabase("leaf_copy");
        db.execute("CREATE TABLE m (region text, id int, n int, PRIMARY KEY (region, id)) PARTITION BY LIST (region)",
                "CREATE TABLE m_eu PARTITION OF m FOR VALUES IN ('eu')",
                "CREATE TABLE m_us PARTITION OF m FOR VALUES IN ('us') PARTITION BY RANGE (id)",
                "CREATE TABLE m_us1 PARTITION OF m_us FOR VALUES FROM (0) TO (500)",
                "CREATE TABLE m_us2 PARTITION OF m_us FOR VALUES FROM (500) TO (1000)",
                "CREATE TABLE m_other PARTITION OF m DEFAULT",
                "CREATE TABLE h (id int PRIMARY KEY, n int) PARTITION BY HASH (id)",
                "CREATE TABLE h0 PARTITION OF h FOR VALUES WITH (MODULUS 3, REMAINDER 0)",
                "CREATE TABLE h1 PARTITION OF h FOR VALUES WITH (MODULUS 3, REMAINDER 1)",
                "CREATE TABLE h2 PARTITION OF h FOR VALUES WITH (MODULUS 3, REMAINDER 2)");
        String[] regions = {"eu", "us", "Ab", "ab", "zz", "é"};
        StringBuilder rows = new StringBuilder("INSERT INTO m VALUES ");
        for (int i = 0; i < 1500; i++) {
            rows.append(i == 0 ? "" : ", ").append("('").append(regions[random.nextInt(regions.length)]).append("', ")
                    .append(random.nextInt(1000)).append(", ").append(i).append(')');
        }
        db.execute(rows + " ON CONFLICT DO NOTHING",
                "INSERT INTO h SELECT g, g FROM generate_series(1, " + (200 + random.nextInt(800)) + ") g",
                "ANALYZE m", "ANALYZE h");
    }

    @AfterAll
    void tearDown() {
        db.close();
    }

    private TablePlan plan(String table) throws Exception {
        PgKeysetConfig config = new PgKeysetConfig(db.connectorConfig("o", "public\\." + table));
        try (Connection c = db.connect()) {
            TableInfo info = Catalog.tables(c, id -> id.equals(new TableId("public", table))).get(0);
            return new TablePlan(CapturedTable.resolve(info, config).table(), config);
        }
    }

    private long oid(String leaf) throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT 'public." + leaf + "'::regclass::oid")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** PostgreSQL's keys of {@code leaf} ({@code key} as text), in the order of the key columns {@code order}. */
    private List<String> expected(String leaf, String key, String order) throws Exception {
        List<String> keys = new ArrayList<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT " + key + " AS k FROM ONLY " + leaf + " ORDER BY " + order)) {
            while (rs.next()) {
                keys.add(rs.getString(1));
            }
        }
        return keys;
    }

    /** Every chunk of the copy of {@code leaf}, taken one after another; the keys in the order read. */
    private List<String> copied(TablePlan plan, String leaf, int chunkSize) throws Exception {
        LeafCopy copy = new LeafCopy(new TableId("public", leaf), oid(leaf));
        ChunkQuery query = new ChunkQuery(chunkSize, 1 << 20);
        List<String> keys = new ArrayList<>();
        Object[] after = null;
        try (Connection c = db.connect()) {
            c.setAutoCommit(false);
            for (int chunk = 0; chunk < 10_000; chunk++) {
                SnapshotChunk taken = query.take(c, plan, after, new XidsSeen(), "leaf-copy-test/" + chunk, copy)
                        .chunk();
                for (SnapshotChunk.Out out : taken.records()) {
                    assertTrue(out.ofLeafCopy());
                    keys.add(String.join(",", ((org.apache.kafka.connect.data.Struct) out.record().key()).schema()
                            .fields().stream().map(f -> String.valueOf(((org.apache.kafka.connect.data.Struct)
                                    out.record().key()).get(f))).toList()));
                }
                if (!taken.more()) {
                    return keys;
                }
                after = taken.lastPosition();
            }
        }
        throw new AssertionError("the copy of " + leaf + " did not end");
    }

    @Test
    void eachLeafIsCopiedWholeInKeyOrderWhateverTheChunkSize() throws Exception {
        Random random = new Random(seed + 1);
        TablePlan m = plan("m");
        for (String leaf : List.of("m_eu", "m_us1", "m_us2", "m_other")) {
            int chunkSize = 1 + random.nextInt(60);
            assertEquals(expected(leaf, "region || ',' || id", "region, id"), copied(m, leaf, chunkSize),
                    leaf + " in chunks of " + chunkSize + " (seed " + seed + ")");
        }
        TablePlan h = plan("h");
        for (String leaf : List.of("h0", "h1", "h2")) {
            int chunkSize = 1 + random.nextInt(60);
            assertEquals(expected(leaf, "id::text", "id"), copied(h, leaf, chunkSize),
                    leaf + " in chunks of " + chunkSize + " (seed " + seed + ")");
        }
    }

    @Test
    void thePlannerReadsOnlyTheLeaf() throws Exception {
        TablePlan m = plan("m");
        Map<String, List<String>> others = Map.of("m_eu", List.of("m_us1", "m_us2", "m_other"),
                "m_us1", List.of("m_eu", "m_us2", "m_other"), "m_other", List.of("m_eu", "m_us1", "m_us2"));
        for (Map.Entry<String, List<String>> leaf : others.entrySet()) {
            for (List<Object> after : List.of(List.<Object>of(), List.<Object>of("eu", "250"))) {
                String plan = explain(m, leaf.getKey(), after);
                assertTrue(plan.contains(leaf.getKey() + "_pkey") || plan.contains(" on " + leaf.getKey()),
                        "reads " + leaf.getKey() + ":\n" + plan);
                for (String other : leaf.getValue()) {
                    assertFalse(plan.contains(other), "does not read " + other + ":\n" + plan);
                }
            }
        }
    }

    @Test
    void aLeafNoLongerAPartitionHasNoRowsLeftToCopy() throws Exception {
        TestDatabase other = PostgresFixture.createDatabase("leaf_copy_detached");
        try {
            other.execute("CREATE TABLE d (id int PRIMARY KEY) PARTITION BY RANGE (id)",
                    "CREATE TABLE d1 PARTITION OF d FOR VALUES FROM (0) TO (10)",
                    "CREATE TABLE d2 PARTITION OF d FOR VALUES FROM (10) TO (20)",
                    "INSERT INTO d SELECT generate_series(0, 19)");
            long d2;
            try (Connection c = other.connect(); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT 'd2'::regclass::oid")) {
                rs.next();
                d2 = rs.getLong(1);
            }
            LeafCopy copy = new LeafCopy(new TableId("public", "d2"), d2);
            try (Connection c = other.connect()) {
                assertTrue(ChunkQuery.leafRows(c, copy) != null);
            }
            other.execute("ALTER TABLE d DETACH PARTITION d2");
            try (Connection c = other.connect()) {
                assertNull(ChunkQuery.leafRows(c, copy), "detached: nothing of d is d2's");
            }
            other.execute("DROP TABLE d2");
            try (Connection c = other.connect()) {
                assertNull(ChunkQuery.leafRows(c, copy), "dropped");
            }
        } finally {
            other.close();
        }
    }

    private String explain(TablePlan plan, String leaf, List<Object> after) throws Exception {
        StringBuilder text = new StringBuilder();
        try (Connection c = db.connect()) {
            KeysetQuery query = plan.snapshotQuery(after,
                    ChunkQuery.leafRows(c, new LeafCopy(new TableId("public", leaf), oid(leaf))));
            try (PreparedStatement st = c.prepareStatement("EXPLAIN " + query.sql() + " LIMIT 51")) {
                query.bind(st);
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        text.append(rs.getString(1)).append('\n');
                    }
                }
            }
        }
        return text.toString();
    }
}

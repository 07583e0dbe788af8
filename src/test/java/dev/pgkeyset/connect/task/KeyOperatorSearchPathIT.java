package dev.pgkeyset.connect.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.RestartingReader;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * The keyset predicate {@code (k) > (CAST(? AS public.citext))} finds its operator through the
 * session's {@code search_path}, while {@code ORDER BY k} takes the type's default btree order
 * whatever the path. A database whose search_path leaves out the schema holding citext's operators
 * (a hardened {@code "$user"}, or extensions kept in their own schema) makes the predicate compare
 * citext as text (its implicit cast): case-sensitively, under an order that is case-insensitive.
 * Each resume then skips rows. Either every row arrives, in PostgreSQL's order, or the connector
 * refuses the table with an error naming it, its column and the search_path.
 */
class KeyOperatorSearchPathIT {

    private TestDatabase db;

    @BeforeEach
    void setUp() {
        db = PostgresFixture.createDatabase("key_op_path");
        db.execute("CREATE EXTENSION IF NOT EXISTS citext",
                "CREATE TABLE ci (k citext PRIMARY KEY, rid int NOT NULL)",
                "INSERT INTO ci VALUES ('a', 1), ('B', 2), ('c', 3), ('D', 4), ('e', 5), ('F', 6)");
    }

    @AfterEach
    void tearDown() {
        db.close();
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

    private void readsEveryRowOrRefusesTheTable(Map<String, String> props) throws Exception {
        // PostgreSQL's order of the key, whatever the search_path (ORDER BY uses the type's own order).
        List<Object> expected = expectedRids("SELECT rid FROM public.ci ORDER BY k");
        List<SourceRecord> records;
        try {
            records = RestartingReader.readAll(props, poll -> true, 0);
        } catch (ConnectException refused) {
            String message = refused.getMessage();
            System.out.println("refused: " + message);
            assertTrue(message.contains("public.ci") && message.contains("column k") && message.contains("search_path"),
                    "a refusal names the table, the key column and the search_path: " + message);
            return;
        }
        assertEquals(expected, RestartingReader.valueField(records, "rid"),
                "every row once, in citext's order, with a restart after each row");
    }

    @Test
    void databaseSearchPathWithoutTheExtensionsSchema() throws Exception {
        db.execute("ALTER DATABASE " + db.name() + " SET search_path = \"$user\"");
        Map<String, String> props = db.connectorConfig("p", "public\\.ci");
        props.put("batch.max.rows", "1");
        readsEveryRowOrRefusesTheTable(props);
    }

    @Test
    void searchPathInTheUrlsOptions() throws Exception {
        Map<String, String> props = db.connectorConfig("p", "public\\.ci");
        props.put("connection.url", db.jdbcUrl() + "?options=-c%20search_path%3Dpg_catalog");
        props.put("batch.max.rows", "1");
        readsEveryRowOrRefusesTheTable(props);
    }

    /**
     * Values selected through a cast to their text form ({@code "n"::text} for numeric, interval,
     * enums, ...): under {@code search_path = public, pg_catalog} a type {@code public.text} (here a
     * domain over varchar(3)) takes the place of pg_catalog's, and an explicit cast to varchar(3)
     * cuts silently. Each value must arrive as PostgreSQL's own text form gives it.
     */
    @Test
    void aTypeNamedTextEarlierInTheSearchPath() throws Exception {
        db.execute("CREATE TABLE nums (n numeric PRIMARY KEY)",
                "INSERT INTO nums VALUES (12345.678), (-0.000001), (1e20)",
                "CREATE DOMAIN public.text AS pg_catalog.varchar(3)",
                "ALTER DATABASE " + db.name() + " SET search_path = public, pg_catalog");
        List<Object> expected = new ArrayList<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT n::pg_catalog.text FROM public.nums ORDER BY nums.n")) {
            while (rs.next()) {
                expected.add(rs.getString(1));
            }
        }
        Map<String, String> props = db.connectorConfig("p", "public\\.nums");
        List<SourceRecord> records = RestartingReader.readAll(props, poll -> false, 0);
        assertEquals(expected, RestartingReader.valueField(records, "n"), "every value whole");
    }

    /**
     * The change phase under the same path: its horizon (the largest tracking value it may read
     * up to) is also a text form. Cut to three characters, a bigint version of 1000 and more gives
     * a horizon of 100, below every row: no change would ever arrive, without an error.
     */
    @Test
    void aTypeNamedTextEarlierInTheSearchPathAndTheChangePhase() throws Exception {
        db.execute("CREATE TABLE versioned (n int PRIMARY KEY, version bigint NOT NULL)",
                "CREATE INDEX ON versioned (version, n)",
                "INSERT INTO versioned SELECT g, 1000 + g FROM generate_series(1, 20) g",
                "CREATE DOMAIN public.text AS pg_catalog.varchar(3)",
                "ALTER DATABASE " + db.name() + " SET search_path = public, pg_catalog");
        List<Object> expected = new ArrayList<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT n FROM public.versioned ORDER BY version, n")) {
            while (rs.next()) {
                expected.add(rs.getInt(1));
            }
        }
        Map<String, String> props = db.connectorConfig("p", "public\\.versioned");
        props.put("snapshot.mode", "never");
        props.put("incremental.start", "earliest");
        props.put("incremental.columns", "public.versioned:version");
        props.put("poll.interval.ms", "10");
        List<Object> rows = new ArrayList<>();
        try (dev.pgkeyset.connect.testing.TaskHarness harness =
                     new dev.pgkeyset.connect.testing.TaskHarness(props).start()) {
            long until = System.nanoTime() + java.time.Duration.ofSeconds(15).toNanos();
            while (rows.size() < expected.size() && System.nanoTime() < until) {
                List<SourceRecord> batch = harness.poll();
                if (batch != null) {
                    rows.addAll(RestartingReader.valueField(batch, "n"));
                } else {
                    Thread.sleep(50);
                }
            }
        }
        assertEquals(expected, rows, "every change, in (version, n) order");
    }
}

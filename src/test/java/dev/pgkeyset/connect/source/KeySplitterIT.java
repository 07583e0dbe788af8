package dev.pgkeyset.connect.source;

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

/**
 * Split points sampled from real tables with integer, text (ICU collation), uuid and composite
 * keys: the ranges' own queries, as the readers run them, together return every row exactly once,
 * and each range holds a fair share.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KeySplitterIT {

    private static final int ROWS = 200_000;

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
                "ANALYZE");
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

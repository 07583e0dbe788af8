package dev.pgkeyset.connect.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
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

/**
 * text[] elements arrive as PostgreSQL holds them, element by element (as {@code unnest} lists
 * them): whitespace that {@code array_out} leaves unquoted (every Unicode space but ASCII's six)
 * stays part of the element, and an element that only looks like NULL is not NULL.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ArrayElementsIT {

    private TestDatabase db;

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("array_elements");
        db.execute("CREATE TABLE arrays (id int PRIMARY KEY, a text[])");
        // Every character Java calls whitespace or a space (String.strip, Character.isSpaceChar), and
        // a few invisible ones, at the start, at the end and around NULL-looking words.
        List<Character> spaces = new ArrayList<>();
        for (char c = 1; c < 0xFFFF; c++) {
            if ((Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085' || c == '\u200b'
                    || c == '\ufeff') && !Character.isSurrogate(c)) {
                spaces.add(c);
            }
        }
        try (Connection c = db.connect();
             PreparedStatement insert = c.prepareStatement("INSERT INTO arrays VALUES (?, ?)")) {
            int id = 0;
            for (char s : spaces) {
                insert.setInt(1, ++id);
                insert.setArray(2, c.createArrayOf("text", new String[] {s + "abc", "abc" + s, s + "NULL",
                        "NULL" + s, s + "null" + s, String.valueOf(s), s + "x y" + s, null}));
                insert.addBatch();
            }
            insert.setInt(1, ++id);
            insert.setArray(2, c.createArrayOf("text", new String[] {"NULL", "null", "NuLl", "", " ", null}));
            insert.addBatch();
            insert.executeBatch();
        }
    }

    @AfterAll
    void tearDown() {
        if (db != null) {
            db.close();
        }
    }

    @Test
    void everyElementArrivesAsPostgresHoldsIt() throws Exception {
        Map<Integer, List<String>> expected = new HashMap<>();
        try (Connection c = db.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT id, e FROM arrays, unnest(a) WITH ORDINALITY AS u(e, n) ORDER BY id, n")) {
            while (rs.next()) {
                expected.computeIfAbsent(rs.getInt(1), k -> new ArrayList<>()).add(rs.getString(2));
            }
        }
        long rows = db.queryLong("SELECT count(*) FROM arrays");
        assertEquals(rows, expected.size());

        Map<Integer, List<String>> actual = new HashMap<>();
        try (TaskHarness harness = new TaskHarness(db.connectorConfig("arr", "public\\.arrays")).start()) {
            harness.pollUntilIdle((SourceRecord r) -> {
                Struct value = (Struct) r.value();
                actual.put(value.getInt32("id"), value.getArray("a"));
            });
        }
        int differing = 0;
        for (Map.Entry<Integer, List<String>> row : expected.entrySet()) {
            if (!row.getValue().equals(actual.get(row.getKey()))) {
                differing++;
                if (differing <= 5) {
                    System.out.println("id " + row.getKey() + ": expected " + escape(row.getValue()) + ", got "
                            + escape(actual.get(row.getKey())));
                }
            }
        }
        System.out.println("array elements: " + rows + " rows, " + differing + " differ from unnest()");
        assertEquals(expected.keySet(), actual.keySet(), "every row once");
        assertEquals(0, differing, "rows whose elements differ from PostgreSQL's unnest()");
    }

    private static String escape(List<String> elements) {
        if (elements == null) {
            return "null";
        }
        StringBuilder out = new StringBuilder("[");
        for (String e : elements) {
            if (out.length() > 1) {
                out.append(", ");
            }
            if (e == null) {
                out.append("NULL");
                continue;
            }
            out.append('\'');
            e.chars().forEach(ch -> out.append(ch < 0x7f && ch >= 0x20 ? String.valueOf((char) ch)
                    : String.format("\\u%04x", ch)));
            out.append('\'');
        }
        return out.append(']').toString();
    }
}

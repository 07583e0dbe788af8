package dev.pgkeyset.connect.chaos;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * The captured tables: each row has a key {@code id}, a counter {@code v} that only grows (every
 * update is {@code v = v + 1}, an insert starts it at 0), a {@code note} rewritten with each
 * update, and in query mode the tracking column {@code updated_at}, set by the database on insert
 * and by a trigger on update. The first table is the large one (split into key ranges in query
 * mode when it holds at least twice {@code TaskAssignment.MIN_ROWS_PER_RANGE} rows).
 */
final class ChaosTables {

    /** A row as the checker compares it. */
    record RowState(long v, String note) {
    }

    private final Map<String, Integer> initialRows;

    ChaosTables(Map<String, Integer> initialRows) {
        this.initialRows = new LinkedHashMap<>(initialRows);
    }

    Map<String, Integer> initialRows() {
        return initialRows;
    }

    String includeList() {
        return "public\\.(" + String.join("|", initialRows.keySet()) + ")";
    }

    void create(TestDatabase db) {
        db.execute("CREATE FUNCTION chaos_touch() RETURNS trigger LANGUAGE plpgsql AS "
                + "$$BEGIN NEW.updated_at := now(); RETURN NEW; END$$");
        initialRows.forEach((table, rows) -> db.execute(
                "CREATE TABLE " + table + " (id bigint PRIMARY KEY, v bigint NOT NULL, note text NOT NULL,"
                        + " updated_at timestamptz NOT NULL DEFAULT now())",
                "CREATE INDEX ON " + table + " (updated_at, id)",
                "CREATE TRIGGER touch BEFORE UPDATE ON " + table + " FOR EACH ROW EXECUTE FUNCTION chaos_touch()",
                "INSERT INTO " + table + " SELECT g, 0, md5(g::text), now() - interval '1 hour'"
                        + " FROM generate_series(1, " + rows + ") g",
                "ANALYZE " + table));
    }

    /** Every row of {@code table}, read by PostgreSQL: the truth the topics are compared with. */
    static Map<Long, RowState> rows(TestDatabase db, String table) {
        Map<Long, RowState> rows = new HashMap<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, v, note FROM " + table)) {
            while (rs.next()) {
                rows.put(rs.getLong(1), new RowState(rs.getLong(2), rs.getString(3)));
            }
        } catch (SQLException e) {
            throw new IllegalStateException("listing " + table + " failed: " + e.getMessage(), e);
        }
        return rows;
    }
}

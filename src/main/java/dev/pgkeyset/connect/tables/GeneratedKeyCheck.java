package dev.pgkeyset.connect.tables;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.TableId;

/**
 * capture.mode=wal: a key column may not be a stored generated column. PostgreSQL 15's pgoutput
 * sends no generated column, neither in a new row nor in the old key of a delete (or under
 * REPLICA IDENTITY FULL), so such a key can be neither fetched by (it is the key a fetch needs)
 * nor read from the WAL: every change of the table would come without it.
 */
final class GeneratedKeyCheck {

    private static final String SQL = """
            SELECT n.nspname, c.relname, a.attname
              FROM unnest(CAST(? AS text[]), CAST(? AS text[])) AS q(nsp, rel)
              JOIN pg_catalog.pg_namespace n ON n.nspname = q.nsp
              JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = q.rel
              JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
             WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> ''
            """;

    private GeneratedKeyCheck() {
    }

    /** By table, the problem of each table whose key holds a generated column. */
    static Map<TableId, String> problems(Connection connection, PgKeysetConfig config, List<CapturedTable> tables)
            throws SQLException {
        Map<TableId, String> problems = new LinkedHashMap<>();
        if (tables.isEmpty()) {
            return problems;
        }
        Set<String> generated = new HashSet<>();
        try (PreparedStatement st = connection.prepareStatement(SQL)) {
            st.setArray(1, connection.createArrayOf("text", tables.stream().map(t -> t.info().id().schema()).toArray()));
            st.setArray(2, connection.createArrayOf("text", tables.stream().map(t -> t.info().id().table()).toArray()));
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    generated.add(new TableId(rs.getString(1), rs.getString(2)) + "\u0000" + rs.getString(3));
                }
            }
        }
        for (CapturedTable table : tables) {
            TableId id = table.info().id();
            List<String> keyGenerated = table.key().stream().map(ColumnInfo::name)
                    .filter(column -> generated.contains(id + "\u0000" + column)).toList();
            if (!keyGenerated.isEmpty()) {
                boolean keyConfigured = config.keyColumns().columnsFor(id).isPresent();
                problems.put(id, (keyConfigured ? PgKeysetConfig.KEY_COLUMNS + ": " : "") + "Table " + id
                        + " is keyed by the generated column(s) " + String.join(", ", keyGenerated) + ", which "
                        + "PostgreSQL's logical replication (pgoutput) does not send: capture.mode=wal could not key "
                        + "its changes. Key the table by other columns in key.columns (they must be in its replica "
                        + "identity), exclude it with table.exclude.list, or use capture.mode=query for it.");
            }
        }
        return problems;
    }
}

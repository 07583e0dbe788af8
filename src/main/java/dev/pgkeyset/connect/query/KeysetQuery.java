package dev.pgkeyset.connect.query;

import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.Sql;
import dev.pgkeyset.connect.pg.TableId;

/**
 * A keyset (seek) query: its SQL text and its bind values, built together so they cannot drift.
 *
 * <p>Worked example: key {@code (region text, id int4)}, last row delivered {@code ('eu', 1001)}:
 * <pre>
 * SELECT "region", "id", "amount" FROM ONLY "public"."orders"
 *  WHERE ("region", "id") &gt; (CAST(? AS text), CAST(? AS integer))
 *  ORDER BY "region", "id"
 * binds: "eu", "1001"
 * </pre>
 * The row comparison is lexicographic: it returns {@code ('eu', 1002)}, {@code ('fr', 1)}, … but not
 * {@code ('eu', 1001)} nor {@code ('de', 5000)}; with a btree index on {@code (region, id)}
 * PostgreSQL starts the index scan right at the position, so page N costs what page 1 costs,
 * unlike {@code OFFSET}. Text keys compare under the column's collation in both the predicate and
 * the {@code ORDER BY}, so the order and the seek agree. Each bound value is the exact text form of
 * the key value cast to the column's declared type (modifier included: a bare {@code character}
 * would mean {@code character(1)}); the key columns are NOT NULL (checked as rows are read), since a
 * row comparison never returns a row whose key is NULL.
 */
public record KeysetQuery(String sql, List<Object> binds) {

    public KeysetQuery {
        binds = List.copyOf(binds);
    }

    /**
     * @param after the key of the last row delivered, or an empty list to start at the beginning
     */
    public static KeysetQuery snapshot(TableId table, boolean only, List<ColumnInfo> columns,
                                       List<ColumnInfo> key, List<Object> after) {
        if (!after.isEmpty() && after.size() != key.size()) {
            throw new IllegalArgumentException("position has " + after.size() + " values for a key of " + key.size());
        }
        StringBuilder sql = new StringBuilder("SELECT ")
                .append(Sql.quotedList(columns.stream().map(ColumnInfo::name).toList()))
                .append(" FROM ").append(only ? "ONLY " : "").append(table.quoted());
        List<Object> binds = new ArrayList<>(after.size());
        if (!after.isEmpty()) {
            sql.append(" WHERE (").append(Sql.quotedList(key.stream().map(ColumnInfo::name).toList()))
                    .append(") > (")
                    .append(key.stream().map(c -> "CAST(? AS " + c.typeName() + ")").collect(Collectors.joining(", ")))
                    .append(')');
            binds.addAll(after);
        }
        sql.append(" ORDER BY ").append(Sql.quotedList(key.stream().map(ColumnInfo::name).toList()));
        return new KeysetQuery(sql.toString(), binds);
    }

    /** Binds every value as text; the SQL's casts turn each into the column's type. */
    public void bind(PreparedStatement statement) throws SQLException {
        for (int i = 0; i < binds.size(); i++) {
            statement.setString(i + 1, String.valueOf(binds.get(i)));
        }
    }
}

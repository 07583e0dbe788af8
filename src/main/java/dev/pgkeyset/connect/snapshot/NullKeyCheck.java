package dev.pgkeyset.connect.snapshot;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;

import org.apache.kafka.connect.errors.ConnectException;

import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.Sql;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.query.KeysetQuery;
import dev.pgkeyset.connect.record.TablePlan;
import dev.pgkeyset.connect.changes.query.ChangeHorizon;

/**
 * Makes "a NULL key value stops the task" true for every cursor, not only the first: a row whose
 * key holds a NULL is never returned by {@code (key) > (position)} nor by a range's bounds (both
 * are NULL for it, not true), so a resumed cursor, every key range and the change query would pass
 * over it without a word.
 *
 * <p>Key columns declared NOT NULL (every primary key, and key.columns naming NOT NULL columns)
 * cost nothing: no look is taken. Key columns that may be NULL come from key.columns; refusing
 * them was the other choice, but views and materialized views cannot declare NOT NULL at all,
 * and a unique index over nullable columns is a common key for a table without a primary key.
 * So they are looked at instead, where a NULL would otherwise go unseen, by one reader per table
 * (the whole table's, or its last range's: a NULL sorts after every value):
 * <ul>
 *   <li>when a snapshot starts from the beginning (to fail before copying anything), and when it
 *       reaches its end, before its last row says {@code snapshot_complete}: one
 *       {@code LIMIT 1} query each, through an index where one starts with the column;
 *       otherwise a scan that stops at the first NULL, once per snapshot, which reads the table
 *       anyway;</li>
 *   <li>before each change query, within that query's own window of tracking values (from the
 *       position's value to the horizon), through the tracking column's index: it reads the rows
 *       the change query reads, so its cost follows the changes, not the table.</li>
 * </ul>
 * A NULL key row written and deleted again between two looks leaves nothing to copy.
 */
public final class NullKeyCheck {

    private NullKeyCheck() {
    }

    /** Before a snapshot starts from the beginning and when it reaches its end. */
    public static void snapshot(Connection connection, TablePlan plan) throws SQLException {
        if (plan.looksForNullKeys()) {
            check(connection, plan, plan.nullKeysQuery());
        }
    }

    /**
     * Before a change query.
     *
     * @param from the tracking value the query starts at (the position's, inclusive), null for the smallest
     */
    public static void changes(Connection connection, TablePlan plan, Object from, ChangeHorizon.Bound horizon)
            throws SQLException {
        if (plan.looksForNullKeys()) {
            check(connection, plan, plan.nullKeysQuery(from, horizon));
        }
    }

    private static void check(Connection connection, TablePlan plan, KeysetQuery query) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement(query.sql())) {
            query.bind(st);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return;
                }
                List<ColumnInfo> nullable = plan.nullableKeyColumns();
                for (int i = 0; i < nullable.size(); i++) {
                    if (rs.getBoolean(i + 1)) {
                        throw nullKey(plan.id(), nullable.get(i).name());
                    }
                }
            }
        }
    }

    /** The error for a NULL key value: what is wrong, why it matters, what to run. */
    public static ConnectException nullKey(TableId table, String column) {
        return new ConnectException("Table " + table + " has a row whose key column '" + column + "' is NULL; a "
                + "keyset never returns such a row ((key) > (position) is NULL for it), so it would be missed. Keyset "
                + "keys must be unique and NOT NULL: fix the rows and run ALTER TABLE " + table.quoted()
                + " ALTER COLUMN " + Sql.quoteIdentifier(column) + " SET NOT NULL, or name other key.columns for this "
                + "table, or exclude it");
    }
}

package dev.pgkeyset.connect.source;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.schema.TrackingType;

/**
 * For columns the database fills from its clock ({@code now()} is the transaction's start time):
 * the bound is the earliest of the current time and the start of every transaction still open in
 * the database, exclusive. Any value still to be committed is at or after it.
 *
 * <p>The current time is taken less a 100 ms guard, which covers the instant between a backend
 * taking its transaction timestamp and publishing it in {@code pg_stat_activity}. Prepared
 * (two-phase) transactions have no backend and their start time is recorded nowhere: while one
 * exists, no bound is given.
 */
final class ClockHorizon implements ChangeHorizon {

    private final String sql;

    ClockHorizon(ColumnInfo tracking) {
        this(tracking, "clock_timestamp()");
    }

    ClockHorizon(ColumnInfo tracking, String clockSql) {
        String instant = "least(" + clockSql + " - interval '100 milliseconds',"
                + " (SELECT min(xact_start) FROM pg_stat_activity WHERE " + OPEN_WRITERS + "))";
        this.sql = "SELECT (" + TrackingType.inColumnType(tracking, instant) + ")::text, " + PREPARED_EXIST;
    }

    @Override
    public Bound current(Connection connection) throws SQLException {
        try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getBoolean(2) ? null : new Bound(rs.getString(1), false);
        }
    }
}

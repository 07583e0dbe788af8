package dev.pgkeyset.connect.source;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.config.SnapshotMode;
import dev.pgkeyset.connect.pg.Privileges;
import dev.pgkeyset.connect.pg.Standby;
import dev.pgkeyset.connect.pg.WallClockZone;
import dev.pgkeyset.connect.schema.TrackingType;

/**
 * What following changes needs from the server, checked by {@code validate()} and at every
 * connector start (the horizon checks the same at run time, see {@link OpenTransactions}): a
 * primary, a role that sees every session's transactions, {@code track_activities} on, and a known
 * zone for wall-clock tracking columns. Snapshot-only needs none of it.
 */
public final class ChangePreconditions {

    /** A problem and the configuration key a person would look at. */
    public record Problem(String key, String message) {
    }

    private ChangePreconditions() {
    }

    public static List<Problem> check(Connection connection, PgKeysetConfig config, List<CapturedTable> tables)
            throws SQLException {
        List<Problem> problems = new ArrayList<>();
        if (config.snapshotMode() == SnapshotMode.INITIAL_ONLY) {
            return problems;
        }
        String standby = Standby.problem(Standby.inRecovery(connection), config.snapshotMode());
        if (standby != null) {
            problems.add(new Problem(PgKeysetConfig.CONNECTION_URL, standby));
        }
        if (!Privileges.canSeeAllTransactions(connection)) {
            problems.add(new Problem(PgKeysetConfig.CONNECTION_USER, Privileges.MISSING_STATS_PRIVILEGE));
        }
        String tracking = trackActivitiesOff(connection);
        if (tracking != null) {
            problems.add(new Problem(PgKeysetConfig.CONNECTION_URL, tracking));
        }
        WallClockZone.Resolution zone = null;
        for (CapturedTable table : tables) {
            if (table.tracking().isPresent() && TrackingType.isWallClock(table.tracking().get())) {
                zone = zone != null ? zone : WallClockZone.resolve(connection);
                if (zone.zone() == null) {
                    problems.add(new Problem(PgKeysetConfig.INCREMENTAL_COLUMNS, "Table " + table.info().id() + ": "
                            + TrackingType.unknownZoneProblem(table.tracking().get(), zone.source())));
                }
            }
        }
        return problems;
    }

    /**
     * Where {@code track_activities} is off for sessions of this database: the server (seen as
     * this session's value), the database, or roles. Null when nowhere.
     */
    private static String trackActivitiesOff(Connection connection) throws SQLException {
        try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT current_setting('track_activities') = 'off',"
                        + " (SELECT string_agg(CASE WHEN s.setrole = 0 THEN 'this database'"
                        + " ELSE 'role ' || quote_ident(r.rolname) END, ', ') FROM pg_db_role_setting s"
                        + " LEFT JOIN pg_roles r ON r.oid = s.setrole, unnest(s.setconfig) c"
                        + " WHERE lower(c) = 'track_activities=off' AND s.setdatabase IN (0, (SELECT oid FROM pg_database"
                        + " WHERE datname = current_database())))")) {
            rs.next();
            String where = rs.getString(2);
            if (!rs.getBoolean(1) && where == null) {
                return null;
            }
            return "track_activities is off (" + (where != null ? "set for " + where : "for the connector's session")
                    + "): PostgreSQL then hides when transactions started, which following changes needs to never "
                    + "skip a row committed late. Turn it on (ALTER DATABASE/ROLE ... RESET track_activities, or "
                    + "track_activities = on in postgresql.conf), or use snapshot.mode=initial_only.";
        }
    }
}

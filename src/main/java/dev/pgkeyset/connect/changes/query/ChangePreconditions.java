package dev.pgkeyset.connect.changes.query;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.config.SnapshotMode;
import dev.pgkeyset.connect.config.Summary;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.Privileges;
import dev.pgkeyset.connect.pg.Standby;
import dev.pgkeyset.connect.pg.Subscriptions;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.pg.TrackingSequence;
import dev.pgkeyset.connect.pg.WallClockZone;
import dev.pgkeyset.connect.schema.TrackingType;
import dev.pgkeyset.connect.tables.CapturedTable;

/**
 * What following changes needs from the server, checked by {@code validate()} and at every
 * connector start (the horizon checks the same at run time, see {@link OpenTransactions}): a
 * primary, a role that sees every session's transactions, {@code track_activities} on, a known
 * zone for wall-clock tracking columns that no login role overrides, a {@code CACHE 1} sequence
 * behind integer tracking columns, and tables that are not logical-replication targets (their rows
 * arrive with the publisher's values, see {@link Subscriptions}). Snapshot-only needs none of it.
 */
public final class ChangePreconditions {

    private static final Logger log = LoggerFactory.getLogger(ChangePreconditions.class);

    /** A problem and the configuration key a person would look at. */
    public record Problem(String key, String message) {
    }

    private ChangePreconditions() {
    }

    public static List<Problem> check(Connection connection, PgKeysetConfig config, List<CapturedTable> tables)
            throws SQLException {
        List<Problem> problems = new ArrayList<>();
        if (config.snapshotMode() == SnapshotMode.INITIAL_ONLY
                || config.captureMode() == dev.pgkeyset.connect.config.CaptureMode.WAL) {
            // Query-based change capture's preconditions; capture.mode=wal has its own.
            return problems;
        }
        String standby = Standby.problem(Standby.inRecovery(connection), config.snapshotMode());
        if (standby != null) {
            problems.add(new Problem(PgKeysetConfig.CONNECTION_URL, standby));
        }
        if (!Privileges.canSeeAllTransactions(connection)) {
            problems.add(new Problem(PgKeysetConfig.CONNECTION_USER, Privileges.MISSING_STATS_PRIVILEGE));
        }
        String trackingOff = trackActivitiesOff(connection);
        if (trackingOff != null) {
            problems.add(new Problem(PgKeysetConfig.CONNECTION_URL, trackingOff));
        }
        WallClockZone.Resolution zone = null;
        for (CapturedTable table : tables) {
            if (table.tracking().isEmpty()) {
                continue;
            }
            ColumnInfo tracking = table.tracking().get();
            TableId id = table.info().id();
            if (TrackingType.isWallClock(tracking)) {
                zone = zone != null ? zone : WallClockZone.resolve(connection);
                if (zone.zone() == null) {
                    problems.add(new Problem(PgKeysetConfig.INCREMENTAL_COLUMNS, "Table " + id + ": "
                            + TrackingType.unknownZoneProblem(tracking, zone.source())));
                } else {
                    rolesZoneProblem(connection, id, tracking, zone.zone()).ifPresent(problems::add);
                }
            }
            if (TrackingType.of(tracking) == TrackingType.SEQUENCE) {
                cachedSequenceProblem(connection, id, tracking).ifPresent(problems::add);
            }
            Subscriptions.Status subscribed = Subscriptions.of(connection, id);
            if (subscribed == Subscriptions.Status.TARGET) {
                problems.add(new Problem(PgKeysetConfig.TABLE_INCLUDE_LIST, Subscriptions.targetProblem(id)));
            } else if (subscribed == Subscriptions.Status.UNKNOWN) {
                log.warn(Subscriptions.unknownWarning(id));
            }
        }
        return problems;
    }

    /** Writer roles with a zone of their own write wall-clock values the connector compares in another zone. */
    private static Optional<Problem> rolesZoneProblem(Connection connection, TableId table, ColumnInfo tracking,
                                                      String zone) throws SQLException {
        List<String> roles = WallClockZone.rolesWithOtherZone(connection, zone);
        if (roles.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new Problem(PgKeysetConfig.INCREMENTAL_COLUMNS, "Table " + table + ": tracking column "
                + tracking.name() + " is of type " + tracking.typeName() + ", compared in time zone " + zone
                + ", but login role(s) " + Summary.join(roles, ", ", Summary.NAMES_SHOWN) + " have a time zone of "
                + "their own: their sessions write wall-clock values in it, which can fall behind the change position "
                + "and be skipped. Run ALTER ROLE <role> [IN DATABASE <database>] RESET timezone for each, or track "
                + "a timestamptz column."));
    }

    /** A sequence with CACHE > 1 hands out values out of commit order across sessions; none found is a warning. */
    private static Optional<Problem> cachedSequenceProblem(Connection connection, TableId table, ColumnInfo tracking)
            throws SQLException {
        Optional<TrackingSequence.Found> sequence = TrackingSequence.of(connection, table, tracking.name());
        if (sequence.isEmpty()) {
            log.warn(TrackingSequence.notFoundWarning(table, tracking.name()));
            return Optional.empty();
        }
        return sequence.get().cache() > 1 ? Optional.of(new Problem(PgKeysetConfig.INCREMENTAL_COLUMNS,
                TrackingSequence.cachedProblem(table, tracking.name(), sequence.get()))) : Optional.empty();
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

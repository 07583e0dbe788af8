package dev.pgkeyset.connect.changes.query;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.DateTimeException;
import java.time.ZoneId;
import java.time.ZoneOffset;

import org.apache.kafka.connect.errors.ConnectException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.WallClockZone;
import dev.pgkeyset.connect.schema.TrackingType;

/**
 * For columns the database fills from its clock ({@code now()} is the transaction's start time):
 * the bound is the earliest of the current time and the start of every transaction still open in
 * the database, exclusive. Any value still to be committed is at or after it.
 *
 * <p>The current time is taken less a 100 ms guard, which covers the instant between a backend
 * taking its transaction timestamp and publishing it in {@code pg_stat_activity}. Prepared
 * (two-phase) transactions have no backend and their start time is recorded nowhere: while one
 * exists, no bound is given. For {@code timestamp} and {@code date} columns the instant is turned
 * into the wall clock of the zone writers write in ({@link WallClockZone}), read once per reader,
 * with the fall-back rule of {@link TrackingType#wallClockBound}.
 */
final class ClockHorizon implements ChangeHorizon {

    private static final Logger log = LoggerFactory.getLogger(ClockHorizon.class);

    private final ColumnInfo tracking;
    /** Where "now" comes from: {@code clock_timestamp()}; a test simulates a fall-back through it. */
    private final String clockSql;
    private final OpenTransactions open = new OpenTransactions();
    private String sql;
    private ZoneId zone = ZoneOffset.UTC;
    /** The database's zone setting seen by the first horizon query (null: none), for wall-clock columns. */
    private String zoneSetting;
    private boolean zoneSettingKnown;

    ClockHorizon(ColumnInfo tracking) {
        this(tracking, "clock_timestamp()");
    }

    ClockHorizon(ColumnInfo tracking, String clockSql) {
        this.tracking = tracking;
        this.clockSql = clockSql;
    }

    @Override
    public Bound current(Connection connection) throws SQLException {
        if (sql == null) {
            sql = OpenTransactions.WITH + ", at AS (SELECT least(" + clockSql + " - interval '100 milliseconds',"
                    + " (SELECT min(xact_start) FROM open)) AS i)"
                    + " SELECT (" + TrackingType.inColumnType(tracking, "at.i", zoneLiteral(connection)) + ")::pg_catalog.text, "
                    + (TrackingType.isWallClock(tracking) ? WallClockZone.DATABASE_SETTING_SQL : "NULL::pg_catalog.text") + ", "
                    + OpenTransactions.COLUMNS + " FROM at";
        }
        try (PreparedStatement st = connection.prepareStatement(sql)) {
            OpenTransactions.bind(st, connection);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                checkZoneUnchanged(rs.getString(2));
                return open.mustHold(rs, 3) ? null : new Bound(rs.getString(1), false);
            }
        }
    }

    /**
     * Fails the task when the database's zone setting differs from the first query's. The
     * position is a wall-clock value of the old zone and rows written from now on carry the new
     * zone's wall clock, hours away: compared with the old literal they are read late or never,
     * with the new one the position itself is off. Neither can be mapped without knowing which
     * rows were written under which zone, so the task stops rather than skip rows. Only the
     * database's setting is watched (one catalog lookup per query); a change of the server's
     * configured zone, or one made while the connector was stopped, is not noticed.
     */
    private void checkZoneUnchanged(String setting) {
        if (!zoneSettingKnown) {
            zoneSetting = setting;
            zoneSettingKnown = true;
        } else if (!java.util.Objects.equals(setting, zoneSetting)) {
            throw new ConnectException("Tracking column " + tracking.name() + " (" + tracking.typeName() + "): the "
                    + "database's time zone setting changed from " + (zoneSetting == null ? "none" : zoneSetting)
                    + " to " + (setting == null ? "none" : setting) + " while following changes. The position is a "
                    + "wall-clock value of the old zone and cannot be mapped into the new one (rows written from now "
                    + "on would be skipped), so the task stops. To recover, delete this table's offsets so it is "
                    + "snapshotted again under the new zone (or set the zone back), or track a timestamptz column.");
        }
    }

    /** The writers' zone as a literal, for wall-clock columns; null for timestamptz. */
    private String zoneLiteral(Connection connection) throws SQLException {
        if (!TrackingType.isWallClock(tracking)) {
            return null;
        }
        WallClockZone.Resolution found = WallClockZone.resolve(connection);
        if (found.zone() == null) {
            throw new ConnectException(TrackingType.unknownZoneProblem(tracking, found.source()));
        }
        log.info("Tracking column {} ({}) is compared in time zone {}, {}", tracking.name(), tracking.typeName(),
                found.zone(), found.source());
        try {
            // POSIX offsets ('UTC+5' is 5 hours west in PostgreSQL, east in Java) stay UTC for the metric.
            if (found.zone().contains("/") || !found.zone().matches(".*\\d.*")) {
                zone = ZoneId.of(found.zone(), ZoneId.SHORT_IDS);
            }
        } catch (DateTimeException notJavas) {
            log.debug("Zone {} is not known to Java; the change-lag metric reads the column as UTC", found.zone());
        }
        return WallClockZone.literal(found.zone());
    }

    @Override
    public ZoneId wallClockZone() {
        return zone;
    }
}

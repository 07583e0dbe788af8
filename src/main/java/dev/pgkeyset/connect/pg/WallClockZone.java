package dev.pgkeyset.connect.pg;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * The zone {@code timestamp} (without time zone) and {@code date} tracking values are written in:
 * {@code now()} cast in the writer's session {@code TimeZone}, which a session that does not set
 * its own takes from the database's default ({@code ALTER DATABASE ... SET timezone}), else from
 * the server's configuration.
 *
 * <p>Not the connector's own session zone: pgjdbc sets that from the worker JVM's default zone
 * (so {@code reset_val} and {@code current_setting} say the JVM's zone), and a JVM in UTC beside a
 * database in New York put the hand-off position 5 hours ahead of every value written. The
 * server's configured zone is shown only to superusers ({@code pg_file_settings}); without that
 * and without a database setting the zone is unknown and the connector refuses the column.
 * A login role's own zone ({@code ALTER ROLE w [IN DATABASE d] SET timezone}) outranks the
 * database's for its sessions: {@link #rolesWithOtherZone} lists those that differ, and the
 * connector refuses the column while any does.
 */
public final class WallClockZone {

    /** @param zone the zone name, null when it cannot be known; {@code source} says where it came from, or why not */
    public record Resolution(String zone, String source) {
    }

    private WallClockZone() {
    }

    /**
     * The database's own timezone setting ({@code ALTER DATABASE ... SET timezone}), null when it has
     * none; one catalog lookup, cheap enough to repeat in every horizon query to notice a change.
     */
    public static final String DATABASE_SETTING_SQL = "(SELECT substr(c, strpos(c, '=') + 1) FROM pg_db_role_setting s,"
            + " unnest(s.setconfig) c WHERE s.setrole = 0 AND s.setdatabase = (SELECT oid FROM pg_database"
            + " WHERE datname = current_database()) AND lower(c) LIKE 'timezone=%' LIMIT 1)";

    public static Resolution resolve(Connection connection) throws SQLException {
        String databaseSetting;
        boolean canReadFileSettings;
        try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT " + DATABASE_SETTING_SQL + ","
                        + " has_function_privilege('pg_catalog.pg_show_all_file_settings()', 'EXECUTE'),"
                        + " current_database()")) {
            rs.next();
            databaseSetting = rs.getString(1);
            canReadFileSettings = rs.getBoolean(2);
            if (databaseSetting != null) {
                return new Resolution(databaseSetting, "the database's setting (ALTER DATABASE "
                        + Sql.quoteIdentifier(rs.getString(3)) + " SET timezone)");
            }
            if (!canReadFileSettings) {
                return new Resolution(null, "database " + Sql.quoteIdentifier(rs.getString(3)) + " has no timezone "
                        + "setting and the server's configured zone (pg_file_settings) is shown only to superusers");
            }
        }
        try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT setting FROM pg_file_settings WHERE name = 'timezone' AND applied ORDER BY seqno DESC LIMIT 1")) {
            // No line in the configuration: the server runs in its built-in default, GMT.
            return rs.next() ? new Resolution(rs.getString(1), "the server's configuration (pg_file_settings)")
                    : new Resolution("GMT", "the server's built-in default");
        }
    }

    /**
     * Login roles whose own timezone setting, for this database or for all databases, is not
     * {@code zone} (compared as written, ignoring case: a differently spelled equal zone is refused
     * too, which errs on the safe side). A role's setting for this database outranks its setting
     * for all databases, so the latter counts only where the former is absent. Each entry reads
     * {@code role (zone)}. {@code pg_db_role_setting} is readable by every role.
     */
    public static List<String> rolesWithOtherZone(Connection connection, String zone) throws SQLException {
        List<String> roles = new ArrayList<>();
        try (PreparedStatement st = connection.prepareStatement("WITH db AS (SELECT oid FROM pg_database WHERE datname"
                + " = current_database()), z AS (SELECT s.setrole, s.setdatabase, substr(c, strpos(c, '=') + 1) AS zone"
                + " FROM pg_db_role_setting s, unnest(s.setconfig) c WHERE s.setrole <> 0 AND lower(c) LIKE 'timezone=%'"
                + " AND s.setdatabase IN (0, (SELECT oid FROM db)))"
                + " SELECT quote_ident(r.rolname) || ' (' || z.zone || CASE WHEN z.setdatabase = 0"
                + " THEN ', all databases' ELSE '' END || ')' FROM z JOIN pg_roles r ON r.oid = z.setrole"
                + " WHERE r.rolcanlogin AND lower(z.zone) <> lower(?) AND NOT (z.setdatabase = 0 AND EXISTS"
                + " (SELECT 1 FROM z z2 WHERE z2.setrole = z.setrole AND z2.setdatabase <> 0)) ORDER BY 1")) {
            st.setString(1, zone);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    roles.add(rs.getString(1));
                }
            }
        }
        return roles;
    }

    /** The SQL literal of a zone name. */
    public static String literal(String zone) {
        return "'" + zone.replace("'", "''") + "'";
    }
}

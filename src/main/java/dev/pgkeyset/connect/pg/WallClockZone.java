package dev.pgkeyset.connect.pg;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

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
 * Role settings of writer roles ({@code ALTER ROLE w SET timezone}) cannot be known here.
 */
public final class WallClockZone {

    /** @param zone the zone name, null when it cannot be known; {@code source} says where it came from, or why not */
    public record Resolution(String zone, String source) {
    }

    private WallClockZone() {
    }

    public static Resolution resolve(Connection connection) throws SQLException {
        String databaseSetting;
        boolean canReadFileSettings;
        try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT (SELECT substr(c, strpos(c, '=') + 1) FROM pg_db_role_setting s, unnest(s.setconfig) c"
                        + " WHERE s.setrole = 0 AND s.setdatabase = (SELECT oid FROM pg_database"
                        + " WHERE datname = current_database()) AND lower(c) LIKE 'timezone=%' LIMIT 1),"
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

    /** The SQL literal of a zone name. */
    public static String literal(String zone) {
        return "'" + zone.replace("'", "''") + "'";
    }
}

package dev.pgkeyset.connect.pg;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import dev.pgkeyset.connect.config.SnapshotMode;

/**
 * Whether the server is a hot standby, where query-mode change capture cannot run: the horizon
 * reads {@code pg_stat_activity}, which on a standby shows the standby's sessions, not the
 * primary's open transactions, so rows committed late on the primary would be skipped. The
 * snapshot alone reads a consistent copy and stays allowed.
 */
public final class Standby {

    public static final String PROBLEM = "The server is a hot standby (pg_is_in_recovery() is true): following "
            + "changes needs the primary's open transactions, which a standby cannot see, so rows committed late "
            + "there could be skipped. Point connection.url at the primary, or use snapshot.mode=initial_only to "
            + "copy the tables from the standby.";

    private Standby() {
    }

    public static boolean inRecovery(Connection connection) throws SQLException {
        try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery()")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    /** Null when {@code mode} may run on this server, else why not. */
    public static String problem(boolean inRecovery, SnapshotMode mode) {
        return inRecovery && mode != SnapshotMode.INITIAL_ONLY ? PROBLEM : null;
    }
}

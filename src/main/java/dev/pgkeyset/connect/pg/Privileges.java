package dev.pgkeyset.connect.pg;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** Checks of what the connector's database user may see. */
public final class Privileges {

    public static final String MISSING_STATS_PRIVILEGE = "Following changes needs the start time of every open "
            + "transaction (pg_stat_activity.xact_start), which PostgreSQL shows for other users' sessions only to "
            + "superusers and members of pg_read_all_stats. Run 'GRANT pg_read_all_stats TO <connection.user>' or "
            + "use snapshot.mode=initial_only; without it, rows committed late by other users' long transactions "
            + "could be skipped.";

    private Privileges() {
    }

    /** True when {@code pg_stat_activity} shows every session's transaction start to this user. */
    public static boolean canSeeAllTransactions(Connection connection) throws SQLException {
        try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT rolsuper OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER')"
                        + " FROM pg_roles WHERE rolname = current_user")) {
            return rs.next() && rs.getBoolean(1);
        }
    }
}

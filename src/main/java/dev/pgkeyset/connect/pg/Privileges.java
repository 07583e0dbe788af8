package dev.pgkeyset.connect.pg;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** Checks of what the connector's database user may see. */
public final class Privileges {

    public static final String MISSING_STATS_PRIVILEGE = "Following changes needs the start time of every open "
            + "transaction (pg_stat_activity.xact_start), which PostgreSQL shows for other users' sessions only to "
            + "superusers and roles that use the privileges of pg_read_all_stats (a NOINHERIT member does not). Run "
            + "'GRANT pg_read_all_stats TO <connection.user>' (and 'ALTER ROLE <connection.user> INHERIT' if it is "
            + "NOINHERIT), or use snapshot.mode=initial_only; without it, rows committed late by other users' long "
            + "transactions could be skipped.";

    /**
     * True when the current role sees every session as pg_read_all_stats does: {@code USAGE},
     * not {@code MEMBER}, since {@code pg_stat_activity} checks the privileges a role has without
     * {@code SET ROLE}.
     */
    public static final String SEES_ALL_SQL = "rolsuper OR pg_has_role(current_user, 'pg_read_all_stats', 'USAGE')";

    private Privileges() {
    }

    /** True when {@code pg_stat_activity} shows every session's transaction start to this user. */
    public static boolean canSeeAllTransactions(Connection connection) throws SQLException {
        try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT " + SEES_ALL_SQL + " FROM pg_roles WHERE rolname = current_user")) {
            return rs.next() && rs.getBoolean(1);
        }
    }
}

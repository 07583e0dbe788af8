package dev.pgkeyset.connect.pg;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * Whether a table is the target of a logical-replication subscription. Its rows are written by the
 * apply worker with the publisher's tracking values (defaults and triggers do not run), in the
 * publisher's commit order, each remote transaction replayed in a short local one: a row whose
 * value was taken first and committed last on the publisher lands below the change position, and
 * no horizon on the subscriber can know. The publisher's own sessions are what the horizon needs.
 */
public final class Subscriptions {

    /** How a table stands: a target, not one, or unknown because the catalog is not readable. */
    public enum Status { TARGET, NOT_TARGET, UNKNOWN }

    private Subscriptions() {
    }

    /** A partitioned table counts as a target when any of its partitions is one. */
    public static Status of(Connection connection, TableId table) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement(
                "SELECT has_table_privilege('pg_catalog.pg_subscription_rel', 'SELECT')")) {
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next() || !rs.getBoolean(1)) {
                    return Status.UNKNOWN;
                }
            }
        }
        try (PreparedStatement st = connection.prepareStatement("SELECT EXISTS (SELECT 1 FROM pg_subscription_rel"
                // pg_partition_tree gives no row for a table that is not partitioned
                + " WHERE srrelid = ?::regclass OR srrelid IN (SELECT relid FROM pg_partition_tree(?::regclass)))")) {
            st.setString(1, table.quoted());
            st.setString(2, table.quoted());
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getBoolean(1) ? Status.TARGET : Status.NOT_TARGET;
            }
        }
    }

    public static String targetProblem(TableId table) {
        return "Table " + table + " is the target of a logical-replication subscription (pg_subscription_rel): its "
                + "tracking values are written by the apply worker in the publisher's commit order, so a row taken "
                + "early and committed late on the publisher lands behind the change position and would be skipped. "
                + "Point the connector (connection.url) at the publisher, or exclude the table "
                + "(table.exclude.list), or use snapshot.mode=initial_only.";
    }

    public static String unknownWarning(TableId table) {
        return "Cannot tell whether table " + table + " is the target of a logical-replication subscription: "
                + "pg_subscription_rel is not readable by this role. If it is a subscriber's table, rows committed "
                + "late on the publisher can be skipped; point the connector at the publisher instead.";
    }
}

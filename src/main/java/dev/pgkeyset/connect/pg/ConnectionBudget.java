package dev.pgkeyset.connect.pg;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * How many connections a connector opens, against how many the server, the database and the role
 * still allow. A task's pool opens {@link ConnectionFactory#connectionsPerTask} connections, and
 * the connector itself one at a time (table discovery, split sampling, validation).
 */
public final class ConnectionBudget {

    /**
     * What limits the connections, seen from one of our sessions (which is left out of every count,
     * being the connector's own). Sessions of this connector type are left out too: a running
     * connector that is being reconfigured replaces its own tasks' connections.
     */
    private static final String LIMITS = """
            SELECT current_setting('max_connections')::int,
                   current_setting('superuser_reserved_connections')::int
                     + coalesce(current_setting('reserved_connections', true)::int, 0),
                   r.rolsuper, r.rolconnlimit, d.datconnlimit,
                   count(a.pid) FILTER (WHERE a.backend_type = 'client backend'),
                   count(a.pid) FILTER (WHERE a.usesysid = r.oid),
                   count(a.pid) FILTER (WHERE a.datid = d.oid)
              FROM pg_roles r
              JOIN pg_database d ON d.datname = current_database()
              LEFT JOIN pg_stat_activity a ON a.pid <> pg_backend_pid()
                   AND coalesce(a.application_name, '') NOT LIKE ?
             WHERE r.rolname = current_user
             GROUP BY r.rolsuper, r.rolconnlimit, d.datconnlimit
            """;

    private ConnectionBudget() {
    }

    /** Connections the connector opens at most with {@code tasks} tasks over {@code pieces} tables and key ranges. */
    public static int needed(int tasks, int pieces) {
        int taskCount = Math.max(1, Math.min(tasks, pieces));
        // A task's pool is at most MAX_PER_TASK, and at most one per table or range it reads.
        return Math.max(taskCount, Math.min(ConnectionFactory.MAX_PER_TASK * taskCount, pieces)) + 1;
    }

    /**
     * Why {@code tasks} tasks do not fit, with the remedy; empty when they do.
     *
     * @param pieces the most tables and key ranges the tasks will read
     */
    public static Optional<String> problem(Connection connection, int tasks, int pieces) throws SQLException {
        List<String> limits = new ArrayList<>();
        int room = Integer.MAX_VALUE;
        try (PreparedStatement st = connection.prepareStatement(LIMITS)) {
            st.setString(1, ConnectionFactory.APPLICATION_NAME + "%");
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                int maxConnections = rs.getInt(1);
                int reserved = rs.getInt(2);
                boolean superuser = rs.getBoolean(3);
                int roleLimit = rs.getInt(4);
                int databaseLimit = rs.getInt(5);
                int inUse = rs.getInt(6);
                int roleInUse = rs.getInt(7);
                int databaseInUse = rs.getInt(8);
                // Superusers may use the reserved slots, and no role or database limit applies to them.
                int serverRoom = maxConnections - (superuser ? 0 : reserved) - inUse;
                room = serverRoom;
                limits.add("the server allows " + serverRoom + " more (max_connections " + maxConnections
                        + (superuser ? "" : " minus " + reserved + " reserved") + ", " + inUse + " in use by others);"
                        + " raise max_connections");
                if (!superuser && roleLimit >= 0) {
                    room = Math.min(room, roleLimit - roleInUse);
                    limits.add("role " + connectionUser(connection) + " may open " + (roleLimit - roleInUse)
                            + " more (CONNECTION LIMIT " + roleLimit + ", " + roleInUse + " in use by others);"
                            + " raise it with ALTER ROLE ... CONNECTION LIMIT " + (roleInUse + needed(tasks, pieces)));
                }
                if (!superuser && databaseLimit >= 0) {
                    room = Math.min(room, databaseLimit - databaseInUse);
                    limits.add("the database allows " + (databaseLimit - databaseInUse) + " more (CONNECTION LIMIT "
                            + databaseLimit + ", " + databaseInUse + " in use by others); raise it with ALTER "
                            + "DATABASE ... CONNECTION LIMIT");
                }
            }
        }
        int needed = needed(tasks, pieces);
        if (needed <= room) {
            return Optional.empty();
        }
        int fitting = 0;
        while (fitting < tasks && needed(fitting + 1, pieces) <= room) {
            fitting++;
        }
        final int available = room;
        List<String> binding = limits.stream().filter(l -> l.contains(" " + available + " more")).toList();
        return Optional.of("tasks.max=" + tasks + " may open up to " + needed + " connections (" + ConnectionFactory
                .MAX_PER_TASK + " per task at most, one per table or key range it reads, and 1 for the connector), "
                + "but " + String.join("; and ", binding.isEmpty() ? limits : binding) + ". "
                + (fitting > 0 ? "Or lower tasks.max to " + fitting : "Not even one task fits: free connections first")
                + ".");
    }

    private static String connectionUser(Connection connection) throws SQLException {
        try (var st = connection.createStatement(); var rs = st.executeQuery("SELECT current_user")) {
            rs.next();
            return rs.getString(1);
        }
    }
}

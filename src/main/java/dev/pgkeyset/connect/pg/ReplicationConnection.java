package dev.pgkeyset.connect.pg;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * A replication connection ({@link ConnectionFactory#openReplication}) and how long ago it last
 * received a byte: what a non-blocking reader needs to tell a quiet server from a dead network.
 */
public final class ReplicationConnection implements AutoCloseable {

    private final Connection connection;
    private final String activityKey;

    ReplicationConnection(Connection connection, String activityKey) {
        this.connection = connection;
        this.activityKey = activityKey;
    }

    public Connection connection() {
        return connection;
    }

    /**
     * Nanoseconds since the connection last received a byte, or -1 when unknown (the user's URL
     * named a {@code socketFactory} of its own, which wins over ours).
     */
    public long nanosSinceLastRead() {
        Long last = ActivitySocketFactory.lastReadNanos(activityKey);
        return last == null ? -1 : System.nanoTime() - last;
    }

    @Override
    public void close() throws SQLException {
        try {
            connection.close();
        } finally {
            ActivitySocketFactory.unregister(activityKey);
        }
    }
}

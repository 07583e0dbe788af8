package dev.pgkeyset.connect.changes.wal;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Writes a tiny WAL record the slot's walsender must decode: a non-transactional logical message
 * ({@code pg_logical_emit_message(false, 'pgkeyset-heartbeat', '')}). pgoutput does not forward it
 * (the stream is not started with {@code messages}), but decoding it moves the walsender's
 * position, and its next keepalive moves {@link WalStream#receivedLsn()} past it. Allowed in a
 * read-only transaction, so the task's normal read-only connections can write it.
 */
public final class Heartbeat {

    /** The message prefix, for anyone reading the WAL with messages on. */
    public static final String PREFIX = "pgkeyset-heartbeat";

    private Heartbeat() {
    }

    /**
     * Emits one heartbeat and returns its LSN. Commits when the connection is not in autocommit.
     * (A non-transactional message is flushed by the WAL writer within {@code wal_writer_delay},
     * not by this call; only then can the walsender read it.)
     */
    public static long emit(Connection connection) throws SQLException {
        try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT pg_catalog.pg_logical_emit_message(false, '" + PREFIX + "', '')::text")) {
            rs.next();
            return Lsn.parse(rs.getString(1));
        } finally {
            if (!connection.getAutoCommit()) {
                connection.commit();
            }
        }
    }
}

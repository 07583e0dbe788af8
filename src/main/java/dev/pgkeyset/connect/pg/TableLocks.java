package dev.pgkeyset.connect.pg;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * Whether someone waits for an exclusive lock on a table: an ALTER TABLE, DROP, TRUNCATE or
 * VACUUM FULL queued behind the ACCESS SHARE lock an open cursor holds. While it waits, every
 * other query on the table queues behind it, so a reader that notices should let go at once.
 */
public final class TableLocks {

    private static final String EXCLUSIVE_WAITERS = """
            SELECT EXISTS (SELECT 1 FROM pg_locks
                            WHERE locktype = 'relation' AND relation = CAST(? AS regclass)
                              AND mode = 'AccessExclusiveLock' AND NOT granted)
            """;

    private TableLocks() {
    }

    public static boolean exclusiveLockAwaited(Connection connection, TableId table) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement(EXCLUSIVE_WAITERS)) {
            st.setString(1, table.quoted());
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }
}

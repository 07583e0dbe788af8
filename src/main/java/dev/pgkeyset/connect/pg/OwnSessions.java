package dev.pgkeyset.connect.pg;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;

import org.postgresql.PGConnection;

/**
 * The connector's own sessions in this JVM that hold a transaction now: the change horizon must
 * not count them as writers (they are read-only), and may count everything else.
 *
 * <p>They are told apart by {@code pid} and {@code backend_start}, never by
 * {@code application_name}, which any client may choose (a writer naming itself
 * {@code kafka-connect-pg-keyset-...} was ignored and its row lost) and a user may override in the
 * URL (the connector's own cursors then counted as writers). The start time makes a pid that
 * PostgreSQL hands to a new backend after ours ended a different session. A reader registers its
 * session while it holds a cursor ({@link #enter} after taking a connection from the pool,
 * {@link #leave} before giving it back), so every task of every connector in this worker sees the
 * others' snapshot cursors as their own. Sessions of tasks in other worker JVMs do count as open
 * transactions: a snapshot cursor there holds a horizon back for at most its lifetime
 * ({@code cursor.max.age.ms}), since each cursor is a transaction of its own — a delay, never a loss.
 */
public final class OwnSessions {

    /** A session's identity as the horizon queries compute it from {@code pg_stat_activity}. */
    public static final String KEY_SQL = "pid::pg_catalog.text || '@' || extract(epoch FROM backend_start)::pg_catalog.text";

    private static final Map<String, Integer> IN_USE = new ConcurrentHashMap<>();
    /** Per physical connection (the pool hands out proxies of it): its key, read once. */
    private static final Map<Object, String> KEYS = Collections.synchronizedMap(new WeakHashMap<>());

    private OwnSessions() {
    }

    /**
     * Registers the session of {@code connection}, which has no transaction open yet, and leaves
     * it without one: the activity view is frozen per transaction, and the horizon that follows
     * must read a fresh one.
     */
    public static String enter(Connection connection) throws SQLException {
        Object physical = connection.isWrapperFor(PGConnection.class) ? connection.unwrap(PGConnection.class)
                : connection;
        String key = KEYS.get(physical);
        if (key == null) {
            try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery(
                    "SELECT " + KEY_SQL + " FROM pg_stat_activity WHERE pid = pg_backend_pid()")) {
                rs.next();
                key = rs.getString(1);
            }
            connection.commit();
            KEYS.put(physical, key);
        }
        IN_USE.merge(key, 1, Integer::sum);
        return key;
    }

    public static void leave(String key) {
        if (key != null) {
            IN_USE.computeIfPresent(key, (k, n) -> n == 1 ? null : n - 1);
        }
    }

    /** The sessions registered now, as {@link #KEY_SQL} values. */
    public static String[] current() {
        return IN_USE.keySet().toArray(String[]::new);
    }
}

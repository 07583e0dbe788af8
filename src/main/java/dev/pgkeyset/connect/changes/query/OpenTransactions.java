package dev.pgkeyset.connect.changes.query;

import java.sql.Array;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.connect.errors.ConnectException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.pg.OwnSessions;
import dev.pgkeyset.connect.pg.Privileges;
import dev.pgkeyset.connect.pg.Standby;

/**
 * What a horizon query sees of the transactions that could still commit rows, and what it must
 * do when it cannot see them.
 *
 * <p><b>Which sessions count.</b> Every other session of the database that holds a transaction
 * ({@code xact_start}, {@code backend_xid} or {@code backend_xmin} set), whatever its
 * {@code backend_type} (background workers report their own, e.g. pg_cron's; parallel workers,
 * logical replication workers) or {@code application_name}. Left out: the querying session
 * ({@code pg_backend_pid()}), the connector's other sessions in this JVM ({@link OwnSessions}, by
 * pid and start time, bound as the statement's one parameter) and autovacuum workers, whose
 * transactions vacuum and never write rows (counting them would hold every change back for the
 * length of a vacuum).
 *
 * <p><b>What cannot be seen.</b> A role that does not use pg_read_all_stats sees other users'
 * sessions without {@code backend_type} or {@code xact_start}: the task stops (a REVOKE after start
 * must not silently turn the protection off). A session with {@code track_activities = off} shows
 * state {@code disabled} and no {@code xact_start}; while one holds a transaction the position
 * holds (its start is unknown), and the sessions are named in the log with the remedy — a
 * transaction of such a session that has neither written nor a statement running is invisible.
 */
final class OpenTransactions {

    private static final Logger log = LoggerFactory.getLogger(OpenTransactions.class);
    private static final long WARN_INTERVAL_NANOS = 60_000_000_000L;

    /**
     * Common table expressions {@code others} (every other session of the database) and
     * {@code open} (those that hold a transaction); one parameter: {@link OwnSessions#current()}.
     */
    static final String WITH = "WITH others AS (SELECT pid, usename, application_name, backend_type, state, xact_start,"
            + " backend_xid, backend_xmin"
            + " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            + " AND (" + OwnSessions.KEY_SQL + " = ANY (?::pg_catalog.text[])) IS NOT TRUE),"
            + " open AS (SELECT * FROM others WHERE (xact_start IS NOT NULL OR backend_xid IS NOT NULL"
            + " OR backend_xmin IS NOT NULL) AND backend_type IS DISTINCT FROM 'autovacuum worker') ";

    /** Six columns for the select list; read them with {@link #mustHold}. */
    static final String COLUMNS = "EXISTS (SELECT 1 FROM pg_prepared_xacts WHERE database = current_database()),"
            + " (SELECT " + Privileges.SEES_ALL_SQL + " FROM pg_roles WHERE rolname = current_user)"
            + " AND NOT EXISTS (SELECT 1 FROM others WHERE backend_type IS NULL),"
            + " EXISTS (SELECT 1 FROM open WHERE xact_start IS NULL AND backend_type IS NOT NULL),"
            + " (SELECT array_agg(pid ORDER BY pid) FROM others WHERE state = 'disabled'),"
            + " pg_is_in_recovery(),"
            // The oldest holder, for the stall warning: its age in seconds and who it is (no query text).
            + " (SELECT ARRAY[extract(epoch FROM clock_timestamp() - since)::pg_catalog.text, who] FROM ("
            + "SELECT xact_start AS since, format('pid %s (usename %s, application_name %L, state %s, xact_start %s)',"
            + " pid, usename, application_name, state, xact_start) AS who FROM open WHERE xact_start IS NOT NULL"
            + " UNION ALL SELECT prepared, format('prepared transaction gid %L (owner %s, prepared %s)', gid, owner,"
            + " prepared) FROM pg_prepared_xacts WHERE database = current_database()) h ORDER BY since LIMIT 1)";

    /**
     * How long the oldest open transaction may hold the change position before a WARN names it:
     * past this, a forgotten session (psql left in BEGIN, a leaked pool connection) is more likely
     * than a long batch. A hook for tests; not a config key, as the warning changes nothing else.
     */
    private static volatile Duration stallWarningAfter = Duration.ofSeconds(60);
    /** One stall warning a minute for the whole JVM, however many readers are held by the same session. */
    private static final AtomicLong stallWarnedNanos = new AtomicLong(System.nanoTime() - WARN_INTERVAL_NANOS);

    /** Test hook: sets the threshold and lets the next stall warn at once. */
    static void stallWarningAfter(Duration after) {
        stallWarningAfter = after;
        stallWarnedNanos.set(System.nanoTime() - WARN_INTERVAL_NANOS);
    }

    private long warnedNanos = System.nanoTime() - WARN_INTERVAL_NANOS;

    /** Binds the statement's parameter. */
    static void bind(java.sql.PreparedStatement statement, Connection connection) throws SQLException {
        statement.setArray(1, connection.createArrayOf("text", OwnSessions.current()));
    }

    /**
     * Reads the {@link #COLUMNS} from column {@code first} on; fails the task where the horizon
     * would be blind.
     *
     * @return true when the position must hold: a prepared transaction, or a transaction whose
     *         start cannot be seen
     */
    boolean mustHold(ResultSet rs, int first) throws SQLException {
        boolean prepared = rs.getBoolean(first);
        boolean seesAll = rs.getBoolean(first + 1);
        boolean undated = rs.getBoolean(first + 2);
        Array disabled = rs.getArray(first + 3);
        if (rs.getBoolean(first + 4)) {
            throw new ConnectException(Standby.PROBLEM);
        }
        if (!seesAll) {
            throw new ConnectException("The change phase lost sight of other sessions' transactions: "
                    + Privileges.MISSING_STATS_PRIVILEGE);
        }
        if (disabled != null && System.nanoTime() - warnedNanos >= WARN_INTERVAL_NANOS) {
            warnedNanos = System.nanoTime();
            log.warn("Session(s) {} run with track_activities = off: PostgreSQL does not show when their transactions "
                    + "started, so the change phase holds while one of them holds a transaction, and cannot see one "
                    + "that has neither written yet nor a statement running (its rows could be skipped). Do not turn "
                    + "track_activities off in sessions that write captured tables (ALTER ROLE ... RESET "
                    + "track_activities; SET track_activities = on)", Arrays.toString((Object[]) disabled.getArray()));
        }
        warnIfStalled(rs.getArray(first + 5));
        return prepared || undated;
    }

    /**
     * Every change position stays behind the oldest open transaction (a clock horizon at its
     * start, a sequence horizon at the probe before it), by design; said at WARN when it has been
     * open long, so a stall is never silent. Names the session, not what it ran.
     */
    private static void warnIfStalled(Array oldest) throws SQLException {
        if (oldest == null) {
            return;
        }
        Object[] ageAndWho = (Object[]) oldest.getArray();
        double ageSeconds = Double.parseDouble((String) ageAndWho[0]);
        long last = stallWarnedNanos.get();
        if (ageSeconds * 1000 < stallWarningAfter.toMillis() || System.nanoTime() - last < WARN_INTERVAL_NANOS
                || !stallWarnedNanos.compareAndSet(last, System.nanoTime())) {
            return;
        }
        log.warn("Changes are held back: the oldest open transaction of the database, {}, has been open for {} s, and "
                + "no change committed after it started is delivered until it ends (it could still commit rows "
                + "behind the position). End it (COMMIT/ROLLBACK, or pg_terminate_backend(pid); COMMIT/ROLLBACK "
                + "PREPARED for a prepared transaction), and consider idle_in_transaction_session_timeout for the "
                + "sessions that leave transactions open", ageAndWho[1], Math.round(ageSeconds));
    }
}

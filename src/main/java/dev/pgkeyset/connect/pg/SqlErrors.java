package dev.pgkeyset.connect.pg;

import java.sql.SQLException;

/**
 * Sorts database errors by what a task should do about them, from their SQLState class
 * (PostgreSQL's Appendix A): connection loss, serialization failures, resource shortage and
 * administrator shutdowns pass; authentication, missing objects and privileges need a person.
 */
public final class SqlErrors {

    private SqlErrors() {
    }

    /** True when retrying the same work later can succeed without anyone changing anything. */
    public static boolean isTransient(SQLException e) {
        String state = e.getSQLState();
        if (state == null) {
            // pgjdbc leaves the state empty for some I/O failures; those are connection problems.
            return true;
        }
        if (isClientOutOfMemory(e)) {
            return false;
        }
        return state.startsWith("08")        // connection exception
                || state.startsWith("40")    // transaction rollback: serialization failure, deadlock
                || state.startsWith("53")    // insufficient resources: too many connections, the server's memory
                || state.startsWith("57P")   // admin/crash shutdown, cannot connect now
                // A statement timeout (or a DBA's pg_cancel_backend): the cursor reopens; each
                // keyset fetch is short, and connection.attempts bounds a query that always times out.
                || state.equals("57014");
    }

    /**
     * {@code 53200} raised by pgjdbc itself ("Ran out of memory retrieving query results"), with the
     * {@link OutOfMemoryError} of this JVM as its cause; the server's own out-of-memory has the same
     * state but no such cause, and passes.
     */
    public static boolean isClientOutOfMemory(SQLException e) {
        if (!"53200".equals(e.getSQLState())) {
            return false;
        }
        for (Throwable cause = e.getCause(); cause != null && cause != cause.getCause(); cause = cause.getCause()) {
            if (cause instanceof OutOfMemoryError) {
                return true;
            }
        }
        return false;
    }

    /**
     * {@code 55006 object_in_use}: for a replication slot, another backend streams it (its old
     * walsender, which lives until {@code wal_sender_timeout}). Not {@link #isTransient}: the wait
     * can be longer than {@code connection.attempts} allows, and must not fail the task.
     */
    public static boolean isObjectInUse(SQLException e) {
        return "55006".equals(e.getSQLState());
    }

    /**
     * pgjdbc's "Result set exceeded maxResultBuffer limit. Received: n; Current limit: limit"
     * (SQLState {@code 08S01}, no cause), thrown by a round trip whose rows pass the connection's
     * {@code maxResultBuffer} (ours, or one set in connection.url, which wins). Told apart from a real
     * loss of connection (the same state, with an I/O cause) by the property's name, which pgjdbc
     * keeps in every translation (ko, ru and zh_CN translate the other words).
     */
    public static boolean isResultBufferExceeded(SQLException e) {
        return "08S01".equals(e.getSQLState()) && e.getCause() == null
                && String.valueOf(e.getMessage()).contains("maxResultBuffer");
    }

    /** {@code 42P01 undefined_table}: the relation was dropped or renamed. */
    public static boolean isUndefinedTable(SQLException e) {
        return "42P01".equals(e.getSQLState());
    }

    /**
     * The table's columns changed between reading the catalog and running the query: a selected
     * column was dropped (42703), or a column's type changed under a statement pgjdbc had
     * prepared before (0A000, "cached plan must not change result type"). Reading the catalog
     * again and reopening fixes both.
     */
    public static boolean isSchemaChange(SQLException e) {
        return "42703".equals(e.getSQLState())
                || ("0A000".equals(e.getSQLState()) && String.valueOf(e.getMessage()).contains("cached plan"));
    }

    /**
     * A description with the SQLState, for logs and task errors, and for the states a user must
     * act on whose database message does not say what to do, what that is.
     */
    public static String describe(SQLException e) {
        return e.getMessage() + " (SQLState " + e.getSQLState() + ")" + remedy(e.getSQLState());
    }

    private static String remedy(String state) {
        if ("42501".equals(state)) {
            // PostgreSQL says "permission denied for table t", not which privilege the query needed.
            return ". The connection.user needs SELECT on every captured table and USAGE on its schema:"
                    + " GRANT them, then restart the task; it resumes from its committed offset";
        }
        if ("57014".equals(state)) {
            // The same state covers pg_cancel_backend; a timeout that keeps coming is a setting.
            return ". If a statement_timeout applies to the connector's sessions (set on its user, its database"
                    + " or in connection.url), every fetch of fetch.size rows, and the wait for a table lock before"
                    + " it, must finish within it: raise it for the connection.user"
                    + " (ALTER ROLE ... SET statement_timeout) or lower fetch.size";
        }
        return "";
    }
}

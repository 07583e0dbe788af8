package dev.pgkeyset.connect.task;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.pg.ConnectionFactory;
import dev.pgkeyset.connect.pg.SqlErrors;
import dev.pgkeyset.connect.pg.TableId;

/**
 * Tells a table renamed from one dropped when a read of it meets {@code 42P01} (no relation of
 * that name). A reader reads its table by name; a rename away and back between two table
 * discoveries (a migration that swaps names, a tool that renames, copies and renames back) would
 * otherwise end the table's reads for the rest of the run, and the discovery, which sees the
 * same name as before, would not reconfigure anything: the rows after the last one read would
 * come only at the next task start. So the reader remembers its table's OID at its first read;
 * while a relation with that OID still exists, it waits and tries the name again every
 * {@link #RETRY} (a lasting rename makes the table a new one at the next table discovery, which
 * reconfigures the tasks). Only a table whose OID is gone is given up.
 */
final class TableRename {

    private static final Logger log = LoggerFactory.getLogger(TableRename.class);

    /** How long a read of a table not found under its name (but still there) waits before it tries again. */
    static final Duration RETRY = Duration.ofSeconds(1);

    private final TableId table;
    /** The table's OID from its first read; 0 before (or when its name was already gone then). */
    private long oid;
    /** Whether this absence of the name was logged (once per absence). */
    private boolean waitLogged;

    TableRename(TableId table) {
        this.table = table;
    }

    /**
     * Reads the table's OID on the first call, on {@code connection} in its current transaction
     * (a catalog lookup of one name); nothing on later calls.
     */
    void remember(Connection connection) throws SQLException {
        if (oid != 0) {
            return;
        }
        oid = dev.pgkeyset.connect.pg.Catalog.oidOf(connection, table);
    }

    /**
     * After a failed read: when it met {@code 42P01} and a relation with the table's OID still
     * exists (renamed, not dropped), how long to wait before trying the name again; null
     * otherwise (any other error, a table dropped, or the OID never known).
     */
    Duration waitIfRenamed(SQLException e, ConnectionFactory connections) {
        if (!SqlErrors.isUndefinedTable(e) || oid == 0 || !stillExists(connections)) {
            return null;
        }
        if (!waitLogged) {
            waitLogged = true;
            log.warn("Table {}: not found under that name, but it still exists (OID {}): renamed ({}). Its reads wait "
                    + "and try the name again every {} ms, while the rest of the task goes on; a lasting rename makes "
                    + "it a new table at the next table discovery", table, oid, SqlErrors.describe(e),
                    RETRY.toMillis());
        }
        return RETRY;
    }

    /** A read of the table succeeded: if its name was missing, it is back. */
    void found() {
        if (waitLogged) {
            waitLogged = false;
            log.info("Table {}: found under its name again; its reads go on after the last row delivered", table);
        }
    }

    private boolean stillExists(ConnectionFactory connections) {
        try (Connection connection = connections.open();
             PreparedStatement st = connection.prepareStatement(
                     "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE oid = CAST(? AS pg_catalog.oid))")) {
            st.setLong(1, oid);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                boolean exists = rs.getBoolean(1);
                connection.rollback();
                return exists;
            }
        } catch (SQLException e) {
            // Cannot be told: the table is taken for gone, as before this check existed.
            log.debug("Table {}: could not look for OID {} ({})", table, oid, SqlErrors.describe(e));
            return false;
        }
    }
}

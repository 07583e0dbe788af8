package dev.pgkeyset.connect.changes.wal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

import org.apache.kafka.connect.errors.ConnectException;

import dev.pgkeyset.connect.config.WalSetupChecks;

/**
 * A logical replication slot (pgoutput) by name: created when missing, described, dropped, and
 * measured. Runs on any connection to the slot's database, a normal one or the replication one
 * (simple queries work on both); a connection with autocommit off is committed after each call,
 * since creating a slot must not run inside a transaction that holds a snapshot.
 */
public final class ReplicationSlot {

    /** The plugin this connector decodes. */
    public static final String PLUGIN = "pgoutput";

    private final String name;

    public ReplicationSlot(String name) {
        this.name = name;
    }

    public String name() {
        return name;
    }

    /**
     * What {@code pg_replication_slots} says of the slot.
     *
     * @param database          null for a physical slot
     * @param activePid         the backend streaming it, null when none does
     * @param confirmedFlushLsn 0 when unknown (a physical slot)
     * @param walStatus         reserved, extended, unreserved or lost (null before PostgreSQL 13)
     */
    public record State(String name, String plugin, String database, boolean active, Integer activePid,
            long confirmedFlushLsn, long restartLsn, String walStatus) {

        /** True when the server removed WAL the slot still needed: it can never stream again. */
        public boolean lost() {
            return "lost".equals(walStatus);
        }

        /** {@code pg_replication_slots.slot_type}: a physical slot has no database. */
        public String type() {
            return database == null ? "physical" : "logical";
        }
    }

    /** The slot as it is now, or empty when there is none of that name. */
    public Optional<State> describe(Connection connection) throws SQLException {
        String sql = "SELECT plugin, database, active, active_pid, confirmed_flush_lsn::text, restart_lsn::text, "
                + (walStatusKnown(connection) ? "wal_status" : "NULL") + " FROM pg_catalog.pg_replication_slots"
                + " WHERE slot_name = ?";
        try (PreparedStatement st = connection.prepareStatement(sql)) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                Optional<State> state = Optional.empty();
                if (rs.next()) {
                    int pid = rs.getInt(4);
                    Integer activePid = rs.wasNull() ? null : pid;
                    state = Optional.of(new State(name, rs.getString(1), rs.getString(2), rs.getBoolean(3), activePid,
                            Lsn.parse(rs.getString(5)), Lsn.parse(rs.getString(6)), rs.getString(7)));
                }
                return state;
            }
        } finally {
            endTransaction(connection);
        }
    }

    /** What {@link #ensure} found or did. {@code lsn}: the new slot's consistent point, or the existing one's confirmed position. */
    public record Ensured(boolean created, long lsn) {
    }

    /**
     * Creates the slot when missing ({@code pg_create_logical_replication_slot(name, 'pgoutput')});
     * an existing slot must decode with pgoutput in this connection's database.
     *
     * @throws ConnectException when a slot of that name exists but cannot be this connector's
     */
    public Ensured ensure(Connection connection) throws SQLException {
        Optional<State> existing = describe(connection);
        if (existing.isEmpty()) {
            try (PreparedStatement st = connection.prepareStatement(
                    "SELECT lsn::text FROM pg_catalog.pg_create_logical_replication_slot(?, '" + PLUGIN + "')")) {
                st.setString(1, name);
                try (ResultSet rs = st.executeQuery()) {
                    rs.next();
                    return new Ensured(true, Lsn.parse(rs.getString(1)));
                }
            } catch (SQLException e) {
                endTransaction(connection);
                if (!"42710".equals(e.getSQLState())) { // duplicate_object: another task created it meanwhile
                    throw e;
                }
                existing = describe(connection);
                if (existing.isEmpty()) {
                    throw e;
                }
            } finally {
                endTransaction(connection);
            }
        }
        State state = existing.get();
        Optional<WalSetupChecks.Problem> foreign = WalSetupChecks.foreignSlot(name, state.type(), state.plugin(),
                state.database(), currentDatabase(connection));
        if (foreign.isPresent()) {
            throw new ConnectException(foreign.get().message());
        }
        if (state.lost()) {
            throw WalStreamFaults.slotLost(name);
        }
        return new Ensured(false, state.confirmedFlushLsn());
    }

    /** Drops the slot if it exists (it must not be active). True when it did exist. */
    public boolean drop(Connection connection) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement("SELECT pg_catalog.pg_drop_replication_slot(slot_name)"
                + " FROM pg_catalog.pg_replication_slots WHERE slot_name = ?")) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next();
            }
        } finally {
            endTransaction(connection);
        }
    }

    /**
     * The slot's cost on the server, for metrics.
     *
     * @param currentWalLsn     {@code pg_current_wal_lsn()}
     * @param retainedWalBytes  WAL the slot keeps from being recycled ({@code pg_current_wal_lsn() - restart_lsn})
     * @param confirmedLagBytes WAL written since the slot's confirmed position ({@code pg_current_wal_lsn() - confirmed_flush_lsn})
     */
    public record Metrics(long currentWalLsn, long retainedWalBytes, long confirmedLagBytes) {

        /** WAL written after {@code receivedLsn} (a stream's {@link WalStream#receivedLsn()}): the replication lag in bytes. */
        public long lagBytes(long receivedLsn) {
            return Math.max(0, Lsn.minus(currentWalLsn, receivedLsn));
        }
    }

    /** Reads the slot's metrics (one short query on a normal connection), or empty when the slot is gone. */
    public Optional<Metrics> metrics(Connection connection) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement("SELECT pg_catalog.pg_current_wal_lsn()::text,"
                + " (pg_catalog.pg_current_wal_lsn() - restart_lsn)::bigint,"
                + " (pg_catalog.pg_current_wal_lsn() - confirmed_flush_lsn)::bigint"
                + " FROM pg_catalog.pg_replication_slots WHERE slot_name = ?")) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                Optional<Metrics> metrics = Optional.empty();
                if (rs.next()) {
                    metrics = Optional.of(new Metrics(Lsn.parse(rs.getString(1)), rs.getLong(2), rs.getLong(3)));
                }
                return metrics;
            }
        } finally {
            endTransaction(connection);
        }
    }

    private static String currentDatabase(Connection connection) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement("SELECT pg_catalog.current_database()");
                ResultSet rs = st.executeQuery()) {
            rs.next();
            return rs.getString(1);
        } finally {
            endTransaction(connection);
        }
    }

    /** {@code wal_status} exists from PostgreSQL 13. */
    private static boolean walStatusKnown(Connection connection) throws SQLException {
        return connection.getMetaData().getDatabaseMajorVersion() >= 13;
    }

    private static void endTransaction(Connection connection) throws SQLException {
        if (!connection.getAutoCommit()) {
            connection.commit();
        }
    }

    @Override
    public String toString() {
        return name;
    }
}

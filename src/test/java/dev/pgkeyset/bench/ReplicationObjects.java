package dev.pgkeyset.bench;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The replication slots and publications a WAL bench line uses, dropped when the line ends, also
 * when it fails, and by a shutdown hook when the JVM is stopped midway: a forgotten slot pins WAL
 * for every database of the server until the disk fills. Only names this class was given are
 * ever dropped. Objects left by an earlier run that died are dropped before a line starts.
 */
final class ReplicationObjects implements AutoCloseable {

    private final BenchData data;
    private final Set<String> slots = new LinkedHashSet<>();
    private final Set<String> publications = new LinkedHashSet<>();
    private final Thread hook = new Thread(this::closeQuietly, "bench-replication-cleanup");

    ReplicationObjects(BenchData data) {
        this.data = data;
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** Claims the names (dropping what an earlier run left under them); the line's connectors create the objects. */
    synchronized ReplicationObjects claim(String slot, String publication) throws Exception {
        slots.add(slot);
        publications.add(publication);
        dropSlot(slot);
        dropPublication(publication);
        return this;
    }

    /**
     * Creates the publication (for {@code table}) and then the slot: the publication must exist
     * at the WAL positions the slot decodes, or pgoutput publishes nothing of them.
     */
    synchronized void create(String slot, String publication, String table) throws Exception {
        claim(slot, publication);
        try (Connection c = data.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE PUBLICATION " + publication + " FOR TABLE " + table);
            st.execute("SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        }
    }

    /** Drops one slot now (the sooner a drained slot goes, the less WAL it keeps). */
    synchronized void dropSlot(String slot) throws Exception {
        try (Connection c = data.connect(); Statement st = c.createStatement()) {
            for (int attempt = 0; ; attempt++) {
                Integer pid;
                String database;
                try (ResultSet rs = st.executeQuery("SELECT active_pid, database FROM pg_replication_slots"
                        + " WHERE slot_name = '" + slot + "'")) {
                    if (!rs.next()) {
                        return;
                    }
                    pid = (Integer) rs.getObject(1);
                    database = rs.getString(2);
                }
                if (!data.database().equals(database)) {
                    throw new IllegalStateException("Slot " + slot + " belongs to database " + database
                            + ", not to the benchmark's " + data.database() + ": not dropping it");
                }
                if (pid == null) {
                    try {
                        st.execute("SELECT pg_drop_replication_slot('" + slot + "')");
                        return;
                    } catch (SQLException e) {
                        if ("42704".equals(e.getSQLState())) {
                            return; // dropped meanwhile (Debezium's slot.drop.on.stop)
                        }
                        if (!"55006".equals(e.getSQLState())) {
                            throw e;
                        }
                        // active again meanwhile: look again
                    }
                }
                if (pid != null && attempt >= 150 && attempt % 50 == 0) {
                    // 30 s after its connector was deleted: the walsender of a slot of ours, stuck.
                    System.err.println("Slot " + slot + " still active for pid " + pid + " after 30 s: terminating it");
                    st.execute("SELECT pg_terminate_backend(" + pid + ")");
                }
                if (pid != null && attempt > 300) {
                    throw new IllegalStateException("Slot " + slot + " stays active for pid " + pid + "; drop it by hand");
                }
                Thread.sleep(200);
            }
        }
    }

    private void dropPublication(String publication) throws SQLException {
        try (Connection c = data.connect(); Statement st = c.createStatement()) {
            st.execute("DROP PUBLICATION IF EXISTS " + publication);
        }
    }

    /** Drops every slot and publication claimed; throws the first failure after trying them all. */
    @Override
    public synchronized void close() throws Exception {
        Exception first = null;
        for (String slot : slots) {
            try {
                dropSlot(slot);
            } catch (Exception e) {
                first = first == null ? e : first;
            }
        }
        for (String publication : publications) {
            try {
                dropPublication(publication);
            } catch (Exception e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
        slots.clear();
        publications.clear();
        if (Thread.currentThread() != hook) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or about to: it finds nothing left to drop
            }
        }
    }

    private void closeQuietly() {
        try {
            close();
        } catch (Exception e) {
            System.err.println("Could not drop the benchmark's replication objects " + slots + " " + publications
                    + ": " + e + " -- drop them by hand (pg_drop_replication_slot, DROP PUBLICATION)");
        }
    }
}

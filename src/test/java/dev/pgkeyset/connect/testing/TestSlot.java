package dev.pgkeyset.connect.testing;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A uniquely named pgoutput slot and publication of one test, in a {@link TestDatabase}: created
 * by {@link TestDatabase#createSlot}, both dropped by {@link #close()} (the slot's walsender, if one
 * still streams it, is terminated first). Create the slot after the tables it must see.
 */
public final class TestSlot implements AutoCloseable {

    private final TestDatabase db;
    private final String slot;
    private final String publication;
    private final String createdAt;

    private TestSlot(TestDatabase db, String slot, String publication, String createdAt) {
        this.db = db;
        this.slot = slot;
        this.publication = publication;
        this.createdAt = createdAt;
    }

    /**
     * @param tables quoted table names for {@code FOR TABLE}; none: a publication {@code FOR ALL TABLES}
     */
    static TestSlot create(TestDatabase db, String name, List<String> tables) {
        String forTables = tables.isEmpty() ? "FOR ALL TABLES"
                : "FOR TABLE " + tables.stream().collect(Collectors.joining(", "));
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE PUBLICATION " + name + " " + forTables + " WITH (publish_via_partition_root = true)");
            try (ResultSet rs = st.executeQuery(
                    "SELECT lsn::text FROM pg_create_logical_replication_slot('" + name + "', 'pgoutput')")) {
                rs.next();
                return new TestSlot(db, name, name, rs.getString(1));
            }
        } catch (SQLException e) {
            throw new IllegalStateException("Could not create slot and publication " + name + ": " + e.getMessage(), e);
        }
    }

    /** The slot's name (also the publication's). */
    public String slot() {
        return slot;
    }

    public String publication() {
        return publication;
    }

    /** The slot's consistent point at creation, as PostgreSQL printed it. */
    public String createdAt() {
        return createdAt;
    }

    /** The connector keys of capture.mode=wal naming this slot and publication. */
    public java.util.Map<String, String> walProps() {
        return java.util.Map.of("capture.mode", "wal", "slot.name", slot, "publication.name", publication);
    }

    @Override
    public void close() {
        try (Connection c = db.connect()) {
            dropSlot(c, slot);
            try (Statement st = c.createStatement()) {
                st.execute("DROP PUBLICATION IF EXISTS " + publication);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("Could not drop slot " + slot + ": " + e.getMessage(), e);
        }
    }

    /**
     * Drops a slot if it exists, first terminating a walsender that streams it; waits (10 s at most)
     * for a terminated walsender to let go of it.
     */
    static void dropSlot(Connection c, String slot) throws SQLException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (true) {
            try (PreparedStatement terminate = c.prepareStatement("SELECT pg_terminate_backend(active_pid)"
                    + " FROM pg_replication_slots WHERE slot_name = ? AND active_pid IS NOT NULL")) {
                terminate.setString(1, slot);
                terminate.executeQuery().close();
            }
            try (PreparedStatement drop = c.prepareStatement("SELECT pg_drop_replication_slot(slot_name)"
                    + " FROM pg_replication_slots WHERE slot_name = ?")) {
                drop.setString(1, slot);
                drop.executeQuery().close();
                return;
            } catch (SQLException e) {
                // 55006: the terminated walsender has not exited yet.
                if (!"55006".equals(e.getSQLState()) || System.nanoTime() > deadline) {
                    throw e;
                }
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SQLException("interrupted while dropping slot " + slot, e);
            }
        }
    }

    /** Drops every replication slot of {@code database} (a database with a slot cannot be dropped). */
    static void dropSlotsOf(Connection c, String database) throws SQLException {
        List<String> slots = new java.util.ArrayList<>();
        try (PreparedStatement st = c.prepareStatement("SELECT slot_name FROM pg_replication_slots WHERE database = ?")) {
            st.setString(1, database);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    slots.add(rs.getString(1));
                }
            }
        }
        for (String slot : slots) {
            dropSlot(c, slot);
        }
    }
}

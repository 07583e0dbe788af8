package dev.pgkeyset.quickstart;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * --until-caught-up in WAL mode: the topics holding the table's rows is not enough on a resume
 * (they hold them since the first run, while the changes made in between may still be on their
 * way). Caught up means the slot's confirmed position has reached the server's WAL position
 * taken when this run started: the connector moves it only over changes whose records Kafka
 * Connect committed, so every change made before the run is in its topic, and its offset is
 * committed for the next run.
 */
final class SlotCaughtUp implements AutoCloseable {

    private final Connection db;
    private final String slot;
    private final String startLsn;

    private SlotCaughtUp(Connection db, String slot, String startLsn) {
        this.db = db;
        this.slot = slot;
        this.startLsn = startLsn;
    }

    /** Takes the server's current WAL position; {@code db} is kept open for {@link #reached()}. */
    static SlotCaughtUp from(Connection db, String slot) throws SQLException {
        db.setAutoCommit(true);
        try (PreparedStatement st = db.prepareStatement("SELECT pg_current_wal_lsn()::text");
             ResultSet rs = st.executeQuery()) {
            rs.next();
            return new SlotCaughtUp(db, slot, rs.getString(1));
        }
    }

    /** Whether the slot exists and has confirmed everything up to the run's start. */
    boolean reached() throws SQLException {
        try (PreparedStatement st = db.prepareStatement("SELECT confirmed_flush_lsn >= ?::pg_lsn "
                + "FROM pg_replication_slots WHERE slot_name = ? AND database = current_database()")) {
            st.setString(1, startLsn);
            st.setString(2, slot);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    String startLsn() {
        return startLsn;
    }

    @Override
    public void close() throws SQLException {
        db.close();
    }
}

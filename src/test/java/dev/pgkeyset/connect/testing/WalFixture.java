package dev.pgkeyset.connect.testing;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;

/**
 * capture.mode=wal in worker tests: a connector config with a slot and publication of the test's
 * own (named after the branch prefix rule: {@code wal_reader_...}), and their removal, which the
 * connector never does (a stop is also a restart): every test calls {@link #dropSlotAndPublication}
 * in a finally block, even when it fails.
 */
public final class WalFixture {

    private WalFixture() {
    }

    /** A unique slot name (also used for the publication). */
    public static String uniqueName(String purpose) {
        return ("wal_reader_" + purpose + "_" + UUID.randomUUID().toString().substring(0, 8)).toLowerCase();
    }

    /** The db's connector config in capture.mode=wal with slot and publication {@code name}, one task. */
    public static Map<String, String> walConfig(TestDatabase db, String topicPrefix, String includeList, String name,
                                                String snapshotMode) {
        Map<String, String> config = db.connectorConfig(topicPrefix, includeList);
        config.put("capture.mode", "wal");
        config.put("snapshot.mode", snapshotMode);
        config.put("slot.name", name);
        config.put("publication.name", name);
        config.put("tasks.max", "1");
        return config;
    }

    /** Waits until the slot exists and a walsender streams it. */
    public static void awaitStreaming(TestDatabase db, String slot, Duration timeout) throws InterruptedException {
        ConnectFixture.waitFor("slot " + slot + " streamed", timeout,
                () -> db.queryLong("SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name = '"
                        + slot + "'") == 1);
    }

    /** Drops the slot (ending a walsender that still holds it) and the publication; quiet if absent. */
    public static void dropSlotAndPublication(TestDatabase db, String name) {
        if (db == null) {
            return;
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                st.execute("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '"
                        + name + "' AND active_pid IS NOT NULL");
                try (ResultSet rs = st.executeQuery("SELECT pg_drop_replication_slot(slot_name) FROM "
                        + "pg_replication_slots WHERE slot_name = '" + name + "'")) {
                    while (rs.next()) {
                        // dropped
                    }
                }
                st.execute("DROP PUBLICATION IF EXISTS " + name);
                return;
            } catch (SQLException e) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("Could not drop slot " + name + ": " + e.getMessage(), e);
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }
}

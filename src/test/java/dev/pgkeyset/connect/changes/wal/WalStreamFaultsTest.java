package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.SQLException;

import org.apache.kafka.connect.errors.ConnectException;
import org.junit.jupiter.api.Test;

/**
 * Classification of the server's errors by SQLState and message texts (the live cases are in
 * {@code WalStreamFaultsIT}, and an invalidated slot's in {@code WalSlotInvalidatedIT}, on a
 * cluster of its own).
 */
class WalStreamFaultsTest {

    @Test
    void lostSlotIsFatalAndSaysHowToRecover() {
        // PostgreSQL 16 on; 13 to 15 say it otherwise (WalSlotInvalidatedIT has PostgreSQL 15's own error).
        SQLException server = new SQLException("ERROR: can no longer get changes from replication slot \"s\"", "55000");
        SlotLostException lost = assertInstanceOf(SlotLostException.class, WalStreamFaults.classify(server, "s", "p"));
        assertInstanceOf(SlotLostException.class, WalStreamFaults.classify(new SQLException(
                "ERROR: cannot read from logical replication slot \"s\"", "55000"), "s", "p"));
        assertTrue(lost.getMessage().contains("wal_status = 'lost'") && lost.getMessage().contains("delete its offsets")
                && lost.getMessage().contains("pg_drop_replication_slot('s')"), lost.getMessage());
    }

    @Test
    void missingSlotAndMissingPublicationAreTold() {
        assertInstanceOf(SlotLostException.class, WalStreamFaults.classify(
                new SQLException("ERROR: replication slot \"s\" does not exist", "42704"), "s", "p"));
        ConnectException publication = assertInstanceOf(ConnectException.class, WalStreamFaults.classify(
                new SQLException("ERROR: publication \"p\" does not exist", "42704"), "s", "p"));
        assertTrue(publication.getMessage().startsWith("Publication 'p' does not exist"), publication.getMessage());
    }

    @Test
    void slotInUseCarriesThePid() {
        SlotInUseException inUse = assertInstanceOf(SlotInUseException.class, WalStreamFaults.classify(
                new SQLException("ERROR: replication slot \"s\" is active for PID 4242", "55006"), "s", "p"));
        assertEquals(4242, inUse.activePid());
        assertNull(WalStreamFaults.activePid("is active for another process"));
    }

    @Test
    void anythingElseStaysAsItIs() {
        SQLException terminated = new SQLException("FATAL: terminating connection due to administrator command", "57P01");
        assertSame(terminated, WalStreamFaults.classify(terminated, "s", "p"));
    }
}

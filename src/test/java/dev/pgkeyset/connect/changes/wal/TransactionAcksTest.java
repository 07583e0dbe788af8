package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TransactionAcksTest {

    @Test
    void confirmsOnlyAFullyAcknowledgedPrefixOfEndedTransactions() {
        TransactionAcks acks = new TransactionAcks();
        acks.begin(100);
        acks.recordCreated(100);
        acks.recordCreated(100);
        acks.ended(100, 110);
        acks.begin(200);
        acks.recordCreated(200);
        acks.ended(200, 210);
        acks.begin(300);
        acks.recordCreated(300);
        assertEquals(0, acks.confirmable());

        // Acknowledged out of order across partitions: the later transaction first.
        acks.acknowledged(200);
        assertEquals(0, acks.confirmable(), "an earlier transaction still has an unacknowledged record");
        acks.acknowledged(100);
        assertEquals(0, acks.confirmable());
        acks.acknowledged(100);
        assertEquals(210, acks.confirmable(), "both ended and acknowledged");
        assertFalse(acks.settled());

        acks.acknowledged(300);
        assertEquals(210, acks.confirmable(), "a transaction whose Commit has not come is not confirmed");
        acks.ended(300, 310);
        assertEquals(310, acks.confirmable());
        assertTrue(acks.settled());
        assertEquals(0, acks.outstanding());
    }

    @Test
    void transactionsWithoutRecordsAndResentOnesMoveThePositionOn() {
        TransactionAcks acks = new TransactionAcks();
        acks.begin(100);
        acks.recordCreated(100);
        acks.begin(100); // re-sent after a reconnect: the same transaction
        acks.ended(100, 110);
        acks.begin(200); // nothing captured in it, or everything already delivered
        acks.ended(200, 210);
        assertEquals(0, acks.confirmable());
        assertEquals(1, acks.outstanding());
        acks.acknowledged(100);
        assertEquals(210, acks.confirmable());
        acks.acknowledged(100); // a stray second acknowledgement changes nothing
        assertEquals(210, acks.confirmable());
    }
}

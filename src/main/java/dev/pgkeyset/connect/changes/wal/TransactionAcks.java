package dev.pgkeyset.connect.changes.wal;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * What may be confirmed to the slot: per PostgreSQL transaction, in commit order, its end LSN and
 * how many of its records Kafka Connect has not acknowledged yet. The confirmable position is the
 * end of the latest transaction such that it and every earlier one ended (Commit seen) and are
 * fully acknowledged, so the slot never passes a change Kafka Connect has not committed.
 *
 * <p>Records are counted on the poll thread; acknowledgements come from the producer's threads
 * ({@code SourceTask.commitRecord}), in any order across topic partitions: hence the lock.
 */
public final class TransactionAcks {

    private static final class Transaction {
        final long commitLsn;
        long endLsn;
        boolean ended;
        int outstanding;

        Transaction(long commitLsn) {
            this.commitLsn = commitLsn;
        }
    }

    private final Deque<Transaction> open = new ArrayDeque<>();
    private final Map<Long, Transaction> byCommitLsn = new HashMap<>();
    /** End of the latest fully acknowledged prefix of transactions; 0 before the first. */
    private long confirmable;

    /** A transaction began (again, after a reconnect: then it is already known). */
    public synchronized void begin(long commitLsn) {
        if (!byCommitLsn.containsKey(commitLsn)) {
            Transaction transaction = new Transaction(commitLsn);
            open.addLast(transaction);
            byCommitLsn.put(commitLsn, transaction);
        }
    }

    /**
     * The open transaction of that commit LSN, or null. Records are created in the newest one and
     * mostly acknowledged in the oldest: both ends are looked at before the map (whose Long keys
     * would box on every record).
     */
    private Transaction find(long commitLsn) {
        Transaction newest = open.peekLast();
        if (newest != null && newest.commitLsn == commitLsn) {
            return newest;
        }
        Transaction oldest = open.peekFirst();
        if (oldest != null && oldest.commitLsn == commitLsn) {
            return oldest;
        }
        return byCommitLsn.get(commitLsn);
    }

    /** One more record of the transaction handed towards Kafka Connect. */
    public synchronized void recordCreated(long commitLsn) {
        Transaction transaction = find(commitLsn);
        if (transaction == null) {
            throw new IllegalStateException("record of a transaction that never began: " + commitLsn);
        }
        transaction.outstanding++;
    }

    public synchronized void ended(long commitLsn, long endLsn) {
        Transaction transaction = find(commitLsn);
        if (transaction != null) {
            transaction.endLsn = endLsn;
            transaction.ended = true;
            advance();
        }
    }

    /** Kafka Connect acknowledged (or dropped) one record of the transaction. */
    public synchronized void acknowledged(long commitLsn) {
        Transaction transaction = find(commitLsn);
        if (transaction != null && transaction.outstanding > 0) {
            transaction.outstanding--;
            advance();
        }
    }

    private void advance() {
        while (!open.isEmpty() && open.peekFirst().ended && open.peekFirst().outstanding == 0) {
            Transaction done = open.removeFirst();
            byCommitLsn.remove(done.commitLsn);
            if (Long.compareUnsigned(done.endLsn, confirmable) > 0) {
                confirmable = done.endLsn;
            }
        }
    }

    /** The position that may be confirmed to the slot; 0 while none. */
    public synchronized long confirmable() {
        return confirmable;
    }

    /** True when every record created was acknowledged and every transaction begun has ended. */
    public synchronized boolean settled() {
        return open.isEmpty();
    }

    /** Records not yet acknowledged, over all transactions. */
    public synchronized long outstanding() {
        long sum = 0;
        for (Transaction transaction : open) {
            sum += transaction.outstanding;
        }
        return sum;
    }
}

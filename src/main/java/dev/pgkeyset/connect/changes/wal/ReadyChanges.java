package dev.pgkeyset.connect.changes.wal;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.source.TransactionContext;

import dev.pgkeyset.connect.pg.ConnectionFactory;
import dev.pgkeyset.connect.record.RecordBatch;

/**
 * The WAL reader's changes that are ready to go, in WAL order, and the estimate of their bytes,
 * by which the reader stops reading the stream once a batch's worth waits. Kept apart from the
 * reader's decoding: handing over only needs the batch's bounds, the unchanged TOAST values
 * fetched by key ({@link ToastFetch}) and where a Kafka transaction may end.
 */
final class ReadyChanges {

    private final ConnectionFactory connections;
    /** Records ready to go, in order; the first ones may still wait for a TOAST fetch. */
    private final Deque<WalChange> ready = new ArrayDeque<>();
    /** Estimated bytes of {@link #ready}. */
    private long readyBytes;

    ReadyChanges(ConnectionFactory connections) {
        this.connections = connections;
    }

    void add(WalChange change) {
        change.estimatedBytes = change.estimateBytes();
        ready.addLast(change);
        readyBytes += change.estimatedBytes;
    }

    int size() {
        return ready.size();
    }

    long bytes() {
        return readyBytes;
    }

    boolean isEmpty() {
        return ready.isEmpty();
    }

    /**
     * Moves the ready changes into {@code batch}, in order, as their records, until one does not
     * fit; the last record of a transaction may end a Kafka transaction.
     *
     * @param transactions null unless the worker lets the connector define transaction boundaries
     */
    void drainInto(RecordBatch batch, TransactionContext transactions, Map<String, Object> partition)
            throws SQLException {
        if (ready.isEmpty()) {
            return;
        }
        fetchMissing(batch);
        while (!ready.isEmpty()) {
            WalChange change = ready.peekFirst();
            while (change.waitsForFetch()) {
                // Each fetch fills at least the first change waiting, the next one may be this one.
                fetchMissing(batch);
            }
            long bytes = change.estimatedBytes;
            if (!batch.fits(bytes)) {
                break;
            }
            ready.removeFirst();
            readyBytes -= bytes;
            SourceRecord record = change.record(partition);
            batch.add(record, bytes);
            if (change.lastOfTransaction && transactions != null) {
                transactions.commitTransaction(record);
            }
        }
    }

    /**
     * Fetches the missing TOAST values of the next ready changes that may go into {@code batch}:
     * as many rows as it has room for, and values of about the bytes it has room for.
     */
    private void fetchMissing(RecordBatch batch) throws SQLException {
        int limit = batch.remainingRows();
        List<WalChange> next = new ArrayList<>();
        boolean any = false;
        for (WalChange change : ready) {
            if (next.size() >= Math.max(1, limit)) {
                break;
            }
            next.add(change);
            any |= change.waitsForFetch();
        }
        if (!any) {
            return;
        }
        try (Connection connection = connections.open()) {
            ToastFetch.fill(next, connection, batch.remainingBytes());
        }
        for (WalChange change : next) {
            // The fetched values count now (the estimate of the rest does not change).
            long estimate = change.estimateBytes();
            readyBytes += estimate - change.estimatedBytes;
            change.estimatedBytes = estimate;
        }
    }
}

package dev.pgkeyset.connect.changes.wal;

import java.sql.SQLException;

/**
 * A task's logical replication stream from one slot: decoded pgoutput messages in WAL order,
 * read without blocking, and the position confirmed back to the slot.
 *
 * <p>Nothing here decides what may be confirmed: the caller confirms only what Kafka Connect has
 * committed, and the stream only reports it to the server (with the periodic status updates the
 * server needs to keep the connection alive).
 */
public interface WalStream extends AutoCloseable {

    /**
     * The next message, or null when none has arrived yet (never blocks longer than a network
     * round trip). Also sends a status update when one is due.
     *
     * @throws SQLException when the connection or the slot failed; see {@code SqlErrors} for
     *                      which are transient
     */
    PgOutputMessage read() throws SQLException;

    /**
     * The WAL position the server has sent up to: advanced by messages and by the server's
     * keepalives while nothing captured changes. Every transaction committed before it has been
     * returned by {@link #read()}.
     */
    long receivedLsn();

    /**
     * The WAL position of the message {@link #read()} returned last (the start of its XLogData:
     * for a change, the LSN of the change's own WAL record); 0 when none was read.
     */
    long lastMessageLsn();

    /**
     * Tells the slot that everything before {@code lsn} is processed: the server may then
     * recycle that WAL, and never sends those transactions again. Never moves backwards.
     */
    void confirm(long lsn);

    /** The position last confirmed (sent or about to be sent to the server). */
    long confirmedLsn();

    @Override
    void close();
}

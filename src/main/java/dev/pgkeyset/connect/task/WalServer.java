package dev.pgkeyset.connect.task;

import java.sql.SQLException;
import java.util.List;
import java.util.Set;

import dev.pgkeyset.connect.changes.wal.WalStream;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.pg.TableInfo;

/**
 * The server side of capture.mode=wal as the task needs it: the publication and the slot made
 * ready before any snapshot, the stream opened once the snapshots are done, and the slot's
 * positions sampled for the metrics.
 */
public interface WalServer {

    /**
     * Publication first (created, extended or checked), then the slot (created when missing).
     *
     * @param slotMustExist the connector has committed offsets (a snapshot read or changes streamed):
     *                      a missing slot then means changes were lost, and it fails instead of being
     *                      created at today's WAL position
     * @param snapshotted   the captured tables with a committed offset: streamed through the
     *                      publication before, so one missing from it now lost changes
     */
    void prepare(List<TableInfo> captured, boolean slotMustExist, Set<TableId> snapshotted) throws SQLException;

    /**
     * Opens the slot's stream from its confirmed position.
     *
     * @throws SQLException a {@link #waitsWithoutLimit waiting} condition, a transient one, or a
     *                      lasting one; a slot that is gone fails with a ConnectException
     */
    WalStream open() throws SQLException;

    /**
     * Opens the slot's stream with pgoutput's logical messages on ({@code messages}), which carry
     * the watermarks of a snapshot read in chunks beside the stream.
     */
    default WalStream openWithMessages() throws SQLException {
        throw new UnsupportedOperationException("this server does not stream logical messages");
    }

    /**
     * Whether a snapshot can be read in chunks beside the stream here: pgoutput sends logical
     * messages (PostgreSQL 14+), and the server can write them (a primary, not a standby).
     */
    default boolean streamsWatermarks() throws SQLException {
        return false;
    }

    /** True for a fault that is waited out without an attempt limit (the slot held by another backend). */
    boolean waitsWithoutLimit(SQLException fault);

    /** Writes a message to the WAL (not in a transaction), so the walsender has something to send. */
    void heartbeat() throws SQLException;

    /**
     * Each reason the publication does not carry every change of those {@code captured} tables
     * that still exist (a dropped table leaves it by itself); empty when it does.
     */
    List<String> publicationProblems(List<TableInfo> captured) throws SQLException;

    /** {currentWalLsn, restartLsn} of the slot, or null when unknown. */
    long[] positions() throws SQLException;
}

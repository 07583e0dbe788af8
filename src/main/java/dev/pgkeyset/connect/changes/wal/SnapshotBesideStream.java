package dev.pgkeyset.connect.changes.wal;

import java.util.List;

import dev.pgkeyset.connect.record.TablePlan;
import dev.pgkeyset.connect.snapshot.SnapshotChunk;

/**
 * A snapshot read in chunks while the stream runs (capture.mode=wal): what {@link WalChangeReader}
 * tells it about the stream, in stream order, and where the rows of a chunk join the stream.
 */
public interface SnapshotBesideStream {

    /** A transaction's Begin was read: it committed, its changes follow. */
    void transactionBegins(long xid);

    /** A change of a captured table's row, by transaction {@code xid}; {@code raw} holds at least the key. */
    void rowChanged(TablePlan plan, Object[] raw, long xid);

    /** A captured table was truncated by transaction {@code xid}. */
    void tableTruncated(TablePlan plan, long xid);

    /**
     * The rows of a chunk, which join the stream at its watermark.
     *
     * @param leafCopied not null when the chunk is the last of a leaf partition's copy: the reader
     *                   runs it just before it makes the record of the chunk's last row (at once
     *                   when the chunk has none), so the offsets say the copy is done from that
     *                   record on, and not before every other row of it is in the stream
     */
    record Handover(List<SnapshotChunk.Out> rows, Runnable leafCopied) {
    }

    /**
     * A logical message was read: when it is the watermark of the chunk waiting, that chunk's rows,
     * which go into the stream here; otherwise null.
     */
    Handover watermark(PgOutputMessage.LogicalMessage message);

    /** The stream failed and is read again from the slot: a chunk waiting for its watermark is read again. */
    void streamRestarted();
}

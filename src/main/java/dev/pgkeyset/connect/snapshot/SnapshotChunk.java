package dev.pgkeyset.connect.snapshot;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.source.SourceRecord;

import dev.pgkeyset.connect.offset.Phase;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.record.TablePlan;

/**
 * One chunk of a watermarked snapshot: the rows a keyset query read in one short transaction,
 * held until the WAL stream reaches the chunk's watermark, minus every row the stream changed in
 * between from a transaction the query did not see (see {@code task/ChunkedSnapshot} for why that
 * is exactly the set to leave out). Rows are kept in key order, by their offset position.
 */
public final class SnapshotChunk {

    /** A row as read, its keyset position (offset values) and its estimated record size. */
    public record Row(Object[] raw, Object[] position, long bytes) {
    }

    /**
     * A row's record and its size, for the reader's batch.
     *
     * @param ofLeafCopy the row is one of a {@link LeafCopy}: its place is the stream's (the
     *                   reader gives it the stream's offset), not its table snapshot's
     */
    public record Out(SourceRecord record, long bytes, boolean ofLeafCopy) {
    }

    private final TablePlan plan;
    private final PgSnapshot snapshot;
    private final String watermark;
    private final Map<List<Object>, Row> rows = new LinkedHashMap<>();
    private final Object[] lastPosition;
    private final boolean more;
    private final LeafCopy leaf;
    private final int read;
    private int dropped;

    /**
     * @param rows the rows read, in key order
     * @param more whether the table has rows after the last one read (the query read one row more
     *             than it kept, or stopped at its byte limit)
     */
    public SnapshotChunk(TablePlan plan, PgSnapshot snapshot, String watermark, List<Row> rows, boolean more) {
        this(plan, snapshot, watermark, rows, more, null);
    }

    /** @param leaf the leaf partition whose rows these are (a {@link LeafCopy}); null for the whole table's */
    public SnapshotChunk(TablePlan plan, PgSnapshot snapshot, String watermark, List<Row> rows, boolean more,
                         LeafCopy leaf) {
        this.leaf = leaf;
        this.plan = plan;
        this.snapshot = snapshot;
        this.watermark = watermark;
        for (Row row : rows) {
            this.rows.put(Arrays.asList(row.position()), row);
        }
        this.read = rows.size();
        this.lastPosition = rows.isEmpty() ? null : rows.get(rows.size() - 1).position();
        this.more = more;
    }

    public TableId table() {
        return plan.id();
    }

    public PgSnapshot snapshot() {
        return snapshot;
    }

    /** The payload of this chunk's watermark message: the stream hands the rows over when it arrives. */
    public String watermark() {
        return watermark;
    }

    /** The position after which the next chunk reads; null when this chunk read no row. */
    public Object[] lastPosition() {
        return lastPosition;
    }

    /** Whether the table has rows after this chunk. */
    public boolean more() {
        return more;
    }

    public int rowsRead() {
        return read;
    }

    public int rowsDropped() {
        return dropped;
    }

    /** The stream changed the row at this key position after the chunk's snapshot: the stream's record wins. */
    public void drop(Object[] position) {
        if (rows.remove(Arrays.asList(position)) != null) {
            dropped++;
        }
    }

    /** The table was truncated after the chunk's snapshot: none of its rows exists any more. */
    public void dropAll() {
        dropped += rows.size();
        rows.clear();
    }

    /**
     * The records of the rows left, in key order; the table's last row (no {@link #more}) says
     * {@code snapshot_complete}. When that row was dropped, no record says so: a restart then reads
     * the table's tail again from the last row delivered, which loses nothing. The rows of a
     * {@link LeafCopy} get the stream's offsets from the reader (the table's snapshot position is
     * not theirs to move).
     */
    public List<Out> records() {
        List<Out> out = new ArrayList<>(rows.size());
        for (Row row : rows.values()) {
            boolean last = !more && row.position() == lastPosition;
            SourceRecord record = plan.toRecord(row.raw(), row.position(),
                    last || leaf != null ? Phase.SNAPSHOT_COMPLETE : Phase.SNAPSHOT, null);
            out.add(new Out(record, row.bytes(), leaf != null));
        }
        return out;
    }

    /** The leaf partition these rows are a copy of; null for a chunk of the whole table's snapshot. */
    public LeafCopy leaf() {
        return leaf;
    }
}

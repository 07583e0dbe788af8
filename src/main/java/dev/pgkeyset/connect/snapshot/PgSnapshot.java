package dev.pgkeyset.connect.snapshot;

import java.util.Arrays;

/**
 * A PostgreSQL MVCC snapshot as {@code pg_current_snapshot()} prints it ({@code xmin:xmax:xip,...},
 * 64-bit transaction ids with their epoch): which transactions a query in it sees. pgoutput names
 * a transaction by its 32-bit xid; {@link #visible(long)} widens it against {@code xmax} (a
 * transaction the stream sends now is far less than 2^31 ids away from any snapshot taken now).
 */
public final class PgSnapshot {

    private final long xmin;
    private final long xmax;
    /** In progress when the snapshot was taken, sorted. */
    private final long[] inProgress;

    PgSnapshot(long xmin, long xmax, long[] inProgress) {
        this.xmin = xmin;
        this.xmax = xmax;
        this.inProgress = inProgress.clone();
        Arrays.sort(this.inProgress);
    }

    /** Parses {@code pg_current_snapshot()::text}, e.g. {@code 10:20:10,14,15}. */
    public static PgSnapshot parse(String text) {
        String[] parts = text.split(":", -1);
        if (parts.length != 3) {
            throw new IllegalArgumentException("not a pg_snapshot: '" + text + "'");
        }
        long[] xip = parts[2].isEmpty() ? new long[0]
                : Arrays.stream(parts[2].split(",")).mapToLong(Long::parseLong).toArray();
        return new PgSnapshot(Long.parseLong(parts[0]), Long.parseLong(parts[1]), xip);
    }

    /**
     * Whether a query in this snapshot sees the changes of the committed transaction {@code xid}
     * (32 bits, as pgoutput's Begin carries it): below xmin, or below xmax and not in progress.
     */
    public boolean visible(long xid) {
        long full = widen(xid);
        if (full < xmin) {
            return true;
        }
        return full < xmax && Arrays.binarySearch(inProgress, full) < 0;
    }

    /** The 64-bit id nearest to {@code xmax} whose low 32 bits are {@code xid}. */
    long widen(long xid) {
        long low = xid & 0xFFFF_FFFFL;
        long candidate = (xmax & ~0xFFFF_FFFFL) | low;
        if (candidate - xmax > (1L << 31)) {
            candidate -= 1L << 32;
        } else if (xmax - candidate > (1L << 31)) {
            candidate += 1L << 32;
        }
        return candidate;
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder().append(xmin).append(':').append(xmax).append(':');
        for (int i = 0; i < inProgress.length; i++) {
            text.append(i == 0 ? "" : ",").append(inProgress[i]);
        }
        return text.toString();
    }
}

package dev.pgkeyset.connect.snapshot;

import java.util.Arrays;

/**
 * The transactions the stream delivered since the last chunk's snapshot saw them all: the next
 * chunk's snapshot must see each of them, or a row it reads could be older than a record the
 * stream has handed over already (see {@code task/ChunkedSnapshot}). Once a snapshot sees a
 * committed transaction, every later one does, so the set is emptied each time.
 */
public final class XidsSeen {

    private long[] xids = new long[64];
    private int size;

    public void add(long xid) {
        if (size == xids.length) {
            xids = Arrays.copyOf(xids, size * 2);
        }
        xids[size++] = xid;
    }

    /** Whether {@code snapshot} sees every transaction added; if so the set is emptied. */
    public boolean allSeenBy(PgSnapshot snapshot) {
        for (int i = 0; i < size; i++) {
            if (!snapshot.visible(xids[i])) {
                return false;
            }
        }
        size = 0;
        if (xids.length > 4096) {
            xids = new long[64];
        }
        return true;
    }

    /**
     * Forgets the transactions {@code snapshot} sees: every later snapshot sees them too. Keeps
     * the set small while no chunk is taken for a long time (between copies of partitions).
     */
    public void forgetSeenBy(PgSnapshot snapshot) {
        int kept = 0;
        for (int i = 0; i < size; i++) {
            if (!snapshot.visible(xids[i])) {
                xids[kept++] = xids[i];
            }
        }
        size = kept;
        if (size < 64 && xids.length > 4096) {
            xids = Arrays.copyOf(xids, 64);
        }
    }

    /** One transaction the snapshot does not see, for the log; -1 when there is none. */
    public long firstUnseenBy(PgSnapshot snapshot) {
        for (int i = 0; i < size; i++) {
            if (!snapshot.visible(xids[i])) {
                return xids[i];
            }
        }
        return -1;
    }

    public int size() {
        return size;
    }
}

package dev.pgkeyset.connect.task;

/**
 * How many rows the next round trip of a cursor asks for, so that one fetch holds about
 * {@code budgetBytes} (the task's {@code batch.max.bytes}) whatever the width of the rows, and never
 * more than {@code fetch.size} rows.
 *
 * <p>PostgreSQL's FETCH counts rows, not bytes, and pgjdbc buffers a whole fetch before handing over
 * its first row: 5,000 rows of 2 MB each are 10 GB in the heap. So the size is learned from the rows
 * themselves: the first fetch of a reader asks for one row; each further fetch asks for
 * {@code budget / widest row of the previous fetch}, growing at most {@link #GROWTH}-fold per fetch,
 * so a table whose first rows are narrow and whose later rows are wide is met by small fetches until
 * the wide rows show. A fetch of much wider rows than the one before it can still exceed the budget
 * by the ratio of their widths, up to the connection's maxResultBuffer, where pgjdbc stops it; the
 * reader then reopens its cursor and {@link #restartAtOneRow()} learns the width again from one row.
 * A single row larger than the budget is fetched alone.
 *
 * <p>Worked example, budget 8 MiB, {@code fetch.size} 5000: rows of 200 bytes are fetched 1, 4, 16,
 * …, 4096, then 5000 at a time (eight round trips to full speed, once per reader); rows of 2.7 MB
 * 1, then 3 at a time (8 MiB / 2.7 MB).
 *
 * <p>Sizes are per reader and outlive its cursors, so a reopened cursor starts where the last one
 * stood rather than at one row.
 */
final class FetchSizer {

    /** The most a fetch grows over the one before it. */
    static final int GROWTH = 4;

    private final long budgetBytes;
    private final int maxRows;
    /** The rows the current fetch asked for. */
    private int current = 1;
    /** Rows of the current fetch not yet read from the result set. */
    private int unread;
    private long widestInFetch;

    FetchSizer(long budgetBytes, int maxRows) {
        this.budgetBytes = budgetBytes;
        this.maxRows = maxRows;
    }

    /** The size of a new cursor's first fetch (the one {@code executeQuery} makes). */
    int startCursor() {
        unread = current;
        widestInFetch = 0;
        return current;
    }

    /**
     * Called before each {@code next()}: the new fetch size when that {@code next()} will fetch
     * (every row of the current fetch read), else -1 (leave it).
     */
    int beforeNext() {
        if (unread > 0) {
            return -1;
        }
        if (widestInFetch > 0) {
            long fits = Math.max(1, budgetBytes / widestInFetch);
            current = (int) Math.max(1, Math.min(Math.min(fits, (long) current * GROWTH), maxRows));
        }
        unread = current;
        widestInFetch = 0;
        return current;
    }

    /** A row of {@code bytes} (estimated as serialized: at least its size on the wire) was read. */
    void rowRead(long bytes) {
        unread--;
        widestInFetch = Math.max(widestInFetch, bytes);
    }

    /**
     * After a fetch was stopped for holding too many bytes: the next cursor starts with one row and
     * grows again from the widths it measures, so rows as wide as those that stopped it are met by
     * fetches of about the budget.
     */
    void restartAtOneRow() {
        current = 1;
        unread = 0;
        widestInFetch = 0;
    }

    /** The rows the current fetch asked for (for messages). */
    int current() {
        return current;
    }
}

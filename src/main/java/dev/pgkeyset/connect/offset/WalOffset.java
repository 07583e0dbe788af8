package dev.pgkeyset.connect.offset;

import java.util.HashMap;
import java.util.Map;

/**
 * The position of one change record read from the WAL: the commit LSN of its transaction and the
 * record's place inside that transaction: {@code 2 × i + part}, where i is the index (0-based) of
 * its change among all the changes the slot sends for that transaction, of captured tables or
 * not (so a transaction re-sent to a task that now captures fewer tables is numbered as before),
 * and part is 1 for the row of every update (an update that changes the key sends its tombstone
 * for the old key first, as part 0, and a crash between the two must not skip the second), 0 for
 * inserts, deletes and truncates. Transactions arrive in commit order, so these
 * positions only grow; a change at or before the committed offset was delivered already.
 *
 * <p>{@code sub} numbers a record that follows another at the same event: in
 * {@code record.format=envelope} a delete is an op=d event (sub 0) and its tombstone (sub 1). It is
 * written only when not 0, so the offsets of {@code record.format=row} are as they always were.
 *
 * <p>The rows of a partition's copy (a table attached with rows, {@code PartitionWatch}) join the
 * stream at their chunk's watermark, a transaction of the task's own with no change: row i of the
 * chunk is at event {@code 2 × i} of that transaction.
 *
 * <p>With {@code provide.transaction.metadata} a transaction has two records more: its BEGIN event
 * at event {@value #BEGIN_EVENT}, before all of its changes, and its END event at {@code 2 × n}
 * for a transaction of n changes, after all of them.
 *
 * <p>As Kafka Connect stores it: partition {@code {"slot": "<slot>"}}, offset
 * {@code {"commit_lsn": "16/B374D848", "event": 3}} (the LSN in PostgreSQL's own text form, so a
 * person can compare it with {@code pg_replication_slots}). Reading is defensive, as for
 * {@link OffsetCodec}: the same code checks offsets read at start-up and offsets altered over REST.
 */
public record WalOffset(long commitLsn, long event, int sub) implements Comparable<WalOffset> {

    public static final String SLOT = "slot";
    public static final String COMMIT_LSN = "commit_lsn";
    public static final String EVENT = "event";
    public static final String SUB = "sub";

    /** The event of a transaction's BEGIN record (provide.transaction.metadata): before its first change. */
    public static final long BEGIN_EVENT = -1;

    /**
     * {@code true} in the offsets of records made with provide.transaction.metadata: a restart
     * then knows whether the transaction it resumes inside had its BEGIN sent (absent: the
     * feature was off, and that transaction gets no END either).
     */
    public static final String TRANSACTION_METADATA = "transaction_metadata";
    /**
     * The leaf partitions of the captured partitioned tables the offset was made with, and those
     * whose copy (rows attached with a partition) was still running (text, see
     * {@code PartitionFingerprint}); only where a partitioned table is captured.
     */
    public static final String PARTITIONS = "partitions";

    private static final String[] KEYS = {COMMIT_LSN, EVENT};
    private static final String[] KEYS_WITH_SUB = {COMMIT_LSN, EVENT, SUB};
    private static final String[] KEYS_MARKED = {COMMIT_LSN, EVENT, TRANSACTION_METADATA};
    private static final String[] KEYS_WITH_SUB_MARKED = {COMMIT_LSN, EVENT, SUB, TRANSACTION_METADATA};

    public WalOffset {
        if (event < BEGIN_EVENT) {
            throw new IllegalArgumentException("'" + EVENT + "' must be " + BEGIN_EVENT + " (a transaction's BEGIN "
                    + "event) or more, found " + event);
        }
        if (sub < 0) {
            throw new IllegalArgumentException("'" + SUB + "' must be 0 or more, found " + sub);
        }
    }

    public WalOffset(long commitLsn, long event) {
        this(commitLsn, event, 0);
    }

    /** Where the BEGIN record of the transaction committed at {@code commitLsn} goes. */
    public static WalOffset beginOf(long commitLsn) {
        return new WalOffset(commitLsn, BEGIN_EVENT);
    }

    /** Where the END record of a transaction of {@code changes} changes goes: after every one of them. */
    public static WalOffset endOf(long commitLsn, long changes) {
        return new WalOffset(commitLsn, 2 * changes);
    }

    /** The record that follows this one at the same event (a delete event's tombstone). */
    public WalOffset next() {
        return new WalOffset(commitLsn, event, sub + 1);
    }

    /** True when this change was delivered already under {@code committed} (null: nothing was). */
    public boolean coveredBy(WalOffset committed) {
        return committed != null && compareTo(committed) <= 0;
    }

    @Override
    public int compareTo(WalOffset other) {
        int byLsn = Long.compareUnsigned(commitLsn, other.commitLsn);
        if (byLsn != 0) {
            return byLsn;
        }
        int byEvent = Long.compare(event, other.event);
        return byEvent != 0 ? byEvent : Integer.compare(sub, other.sub);
    }

    /** The offset map of a record; built per record, so cheaply. */
    public Map<String, Object> toMap() {
        return toMap(formatLsn(commitLsn));
    }

    /**
     * The same, with the commit LSN already in its text form ({@link #formatLsn} of
     * {@link #commitLsn}): every record of a transaction shares it, so it is formatted once.
     */
    public Map<String, Object> toMap(String commitLsnText) {
        return sub == 0 ? new OffsetMap(KEYS, new Object[] {commitLsnText, event})
                : new OffsetMap(KEYS_WITH_SUB, new Object[] {commitLsnText, event, (long) sub});
    }

    /** The same, marked {@link #TRANSACTION_METADATA} when {@code transactionMetadata}. */
    public Map<String, Object> toMap(String commitLsnText, boolean transactionMetadata) {
        if (!transactionMetadata) {
            return toMap(commitLsnText);
        }
        return sub == 0 ? new OffsetMap(KEYS_MARKED, new Object[] {commitLsnText, event, true})
                : new OffsetMap(KEYS_WITH_SUB_MARKED, new Object[] {commitLsnText, event, (long) sub, true});
    }

    /** The same, with {@link #PARTITIONS} when {@code partitions} is not null. */
    public Map<String, Object> toMap(String commitLsnText, boolean transactionMetadata, String partitions) {
        Map<String, Object> map = toMap(commitLsnText, transactionMetadata);
        if (partitions == null) {
            return map;
        }
        Map<String, Object> withPartitions = new java.util.LinkedHashMap<>(map);
        withPartitions.put(PARTITIONS, partitions);
        return withPartitions;
    }

    /** The {@link #PARTITIONS} of a stored offset; null when it has none. */
    public static String partitions(Map<String, ?> map) {
        return map == null || !(map.get(PARTITIONS) instanceof String text) ? null : text;
    }

    /** Whether a stored offset was made with provide.transaction.metadata ({@link #TRANSACTION_METADATA}). */
    public static boolean markedWithTransactionMetadata(Map<String, ?> map) {
        return map != null && Boolean.TRUE.equals(map.get(TRANSACTION_METADATA));
    }

    /** The source partition of every WAL record of a slot (a HashMap for the reason in {@link TablePartition}). */
    public static Map<String, Object> partition(String slot) {
        Map<String, Object> partition = new HashMap<>(2);
        partition.put(SLOT, slot);
        return java.util.Collections.unmodifiableMap(partition);
    }

    /**
     * @throws IllegalArgumentException naming what is wrong with the offset
     */
    public static WalOffset fromMap(Map<String, ?> map) {
        if (map == null) {
            throw new IllegalArgumentException("the offset is null");
        }
        for (String key : map.keySet()) {
            if (!COMMIT_LSN.equals(key) && !EVENT.equals(key) && !SUB.equals(key) && !TRANSACTION_METADATA.equals(key)
                    && !PARTITIONS.equals(key)) {
                throw new IllegalArgumentException("a WAL offset has only '" + COMMIT_LSN + "', '" + EVENT
                        + "', '" + SUB + "', '" + TRANSACTION_METADATA + "' and '" + PARTITIONS + "', found '" + key
                        + "'");
            }
        }
        Object partitions = map.get(PARTITIONS);
        if (partitions != null && !(partitions instanceof String)) {
            throw new IllegalArgumentException("'" + PARTITIONS + "' must be text (the captured tables' partitions "
                    + "as JSON), found " + partitions);
        }
        Object marker = map.get(TRANSACTION_METADATA);
        if (marker != null && !(marker instanceof Boolean)) {
            throw new IllegalArgumentException("'" + TRANSACTION_METADATA + "' must be true or false, found " + marker);
        }
        Object lsn = map.get(COMMIT_LSN);
        if (!(lsn instanceof String text)) {
            throw new IllegalArgumentException("'" + COMMIT_LSN + "' must be a WAL position as text such as "
                    + "\"16/B374D848\", found " + lsn);
        }
        Object event = map.get(EVENT);
        if (!(event instanceof Long || event instanceof Integer || event instanceof Short)) {
            throw new IllegalArgumentException("'" + EVENT + "' must be a whole number (the change's index in its "
                    + "transaction), found " + event);
        }
        Object sub = map.get(SUB);
        if (sub != null && !(sub instanceof Long || sub instanceof Integer || sub instanceof Short)) {
            throw new IllegalArgumentException("'" + SUB + "' must be a whole number (the record's place after "
                    + "its event), found " + sub);
        }
        long subValue = sub == null ? 0 : ((Number) sub).longValue();
        if (subValue > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("'" + SUB + "' is out of range: " + sub);
        }
        return new WalOffset(parseLsn(text), ((Number) event).longValue(), (int) subValue);
    }

    /** PostgreSQL's text form of an LSN: two hexadecimal halves, {@code 16/B374D848}. */
    public static String formatLsn(long lsn) {
        return dev.pgkeyset.connect.changes.wal.Lsn.format(lsn);
    }

    /**
     * As strict as a person's typing needs: two unsigned hexadecimal halves of 1 to 8 digits,
     * nothing else (also no empty text, which {@code Lsn.parse} reads as 0).
     *
     * @throws IllegalArgumentException when {@code text} is not an LSN's text form
     */
    public static long parseLsn(String text) {
        if (!text.isEmpty()) {
            try {
                return dev.pgkeyset.connect.changes.wal.Lsn.parse(text);
            } catch (IllegalArgumentException notOne) {
                // said below, in the offset's own terms
            }
        }
        throw new IllegalArgumentException("'" + text + "' is not a WAL position (expected two hexadecimal "
                + "halves such as 16/B374D848)");
    }
}

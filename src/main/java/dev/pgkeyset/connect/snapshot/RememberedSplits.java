package dev.pgkeyset.connect.snapshot;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import dev.pgkeyset.connect.offset.KeySplit;
import dev.pgkeyset.connect.pg.TableId;

/**
 * Splits sampled in this worker JVM whose ranges have not committed an offset yet, so that a new
 * connector instance of the same connector finds them again.
 *
 * <p>Why a JVM-wide memory: until the first offset flush ({@code offset.flush.interval.ms}, a
 * minute by default) no offset carries the split, and Kafka Connect gives a connector no way to
 * see its previous task configs or to write an offset itself (Connect 4.x has no
 * {@code SourceTask.updateOffsets}; KIP-910 was never merged). A config change (tasks.max) or a
 * restart starts a new connector instance, which calls {@code taskConfigs()} while the old
 * tasks still run; without this memory it samples a new split. Kept per connector name and
 * database, and dropped once a committed range offset carries a split (the offsets then answer,
 * and a later offset reset samples anew), or after an hour. A move to another worker still loses it: then the new
 * split's range readers, which never resume from another split's offset (see SnapshotPhase), read
 * their ranges again; duplicates, no loss.
 */
public final class RememberedSplits {

    private record Key(String connector, String url, TableId table) {
    }

    /**
     * The key columns the split's boundaries are values of, and when it was sampled; a null split
     * (and key columns) for a table assigned whole.
     */
    private record Remembered(List<String> keyColumns, KeySplit split, long sampledNanos) {
    }

    /**
     * Far longer than any offset flush interval in practice: past it the offsets answer, or they
     * were reset and a new sample fits the table as it is now.
     */
    private static final long KEPT_NANOS = java.util.concurrent.TimeUnit.HOURS.toNanos(1);

    private static final Map<Key, Remembered> SPLITS = new ConcurrentHashMap<>();
    /** Bounds the memory of a worker whose connectors come and go: the oldest entries matter least. */
    private static final int MAX_ENTRIES = 10_000;

    private final String connector;
    private final String url;
    /** Used instead when the connector has no name (a test harness): this instance only. */
    private final Map<Key, Remembered> local = new ConcurrentHashMap<>();

    /** @param connector the connector's name, or null */
    public RememberedSplits(String connector, String url) {
        this.connector = connector;
        this.url = url;
    }

    private Map<Key, Remembered> store() {
        return connector == null ? local : SPLITS;
    }

    void remember(TableId table, List<String> keyColumns, KeySplit split) {
        if (store().size() >= MAX_ENTRIES) {
            store().clear();
        }
        store().put(new Key(connector, url, table), new Remembered(List.copyOf(keyColumns), split, System.nanoTime()));
    }

    /** The split remembered for this table over these key columns. */
    Optional<KeySplit> recall(TableId table, List<String> keyColumns) {
        Remembered remembered = store().get(new Key(connector, url, table));
        return remembered != null && remembered.split() != null && remembered.keyColumns().equals(keyColumns)
                && System.nanoTime() - remembered.sampledNanos() < KEPT_NANOS ? Optional.of(remembered.split())
                : Optional.empty();
    }

    /** The table was assigned whole to one task: it stays whole while remembered (see CommittedSplits). */
    void rememberWhole(TableId table) {
        if (store().size() >= MAX_ENTRIES) {
            store().clear();
        }
        // Remembered once: a later assignment whole must not make the memory last for ever.
        store().putIfAbsent(new Key(connector, url, table), new Remembered(null, null, System.nanoTime()));
    }

    /** Whether the table was last assigned whole, within the memory's lifetime. */
    boolean recallWhole(TableId table) {
        Remembered remembered = store().get(new Key(connector, url, table));
        return remembered != null && remembered.split() == null
                && System.nanoTime() - remembered.sampledNanos() < KEPT_NANOS;
    }

    void forget(TableId table) {
        store().remove(new Key(connector, url, table));
    }
}

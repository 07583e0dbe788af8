package dev.pgkeyset.connect.chaos;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;



import dev.pgkeyset.connect.offset.WalOffset;
import dev.pgkeyset.connect.testing.OffsetsTopic;

/**
 * The history of the offsets Kafka Connect committed for a wal-mode connector's slot, read from
 * the workers' offsets topic at the end of a run: when (the offset record's timestamp) which
 * commit LSN was committed. It bounds re-delivery: a task resumes after the offset committed
 * before it started and then produces in WAL order, so a change record produced at time t belongs
 * to a transaction at or after the commit LSN committed before t. A record produced before a
 * position committed earlier was re-sent from before the committed offset, beyond what
 * at-least-once allows.
 */
final class CommittedWalPositions {

    /** Offset-record time → the highest commit LSN committed up to then (unsigned order). */
    private final TreeMap<Long, Long> highestByTime = new TreeMap<>();

    /** Built from (time, commit LSN) pairs in any order; tests give them by hand. */
    CommittedWalPositions(List<long[]> commits) {
        List<long[]> sorted = new ArrayList<>(commits);
        sorted.sort((a, b) -> Long.compare(a[0], b[0]));
        long highest = 0;
        for (long[] commit : sorted) {
            if (Long.compareUnsigned(commit[1], highest) > 0) {
                highest = commit[1];
            }
            highestByTime.put(commit[0], highest);
        }
    }

    /** Every committed offset of the slot partitions in {@code offsets} (the connector's). */
    static CommittedWalPositions of(List<OffsetsTopic.Committed> offsets) {
        List<long[]> commits = new ArrayList<>();
        for (OffsetsTopic.Committed committed : offsets) {
            if (committed.partition().has(WalOffset.SLOT) && committed.offset() != null
                    && committed.offset().has(WalOffset.COMMIT_LSN)) {
                commits.add(new long[] {committed.timestamp(),
                        WalOffset.parseLsn(committed.offset().get(WalOffset.COMMIT_LSN).asText())});
            }
        }
        return new CommittedWalPositions(commits);
    }

    /** The highest commit LSN committed at or before {@code millis}; 0 when none was. */
    long committedAt(long millis) {
        Map.Entry<Long, Long> entry = highestByTime.floorEntry(millis);
        return entry == null ? 0 : entry.getValue();
    }

    int commits() {
        return highestByTime.size();
    }
}

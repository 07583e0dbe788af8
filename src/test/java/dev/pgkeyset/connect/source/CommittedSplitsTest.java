package dev.pgkeyset.connect.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.storage.OffsetStorageReader;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.offset.KeySplit;
import dev.pgkeyset.connect.offset.OffsetCodec;
import dev.pgkeyset.connect.offset.Phase;
import dev.pgkeyset.connect.offset.TablePartition;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.pg.TableInfo;
import dev.pgkeyset.connect.pg.TableKind;

class CommittedSplitsTest {

    private static final TableId BIG = new TableId("public", "big");
    private static final CapturedTable TABLE = new CapturedTable(new TableInfo(BIG, TableKind.TABLE, List.of(),
            List.of("id"), java.util.Set.of(), 1_000_000), List.of());
    private static final KeySplit SPLIT = new KeySplit(List.of(List.of(500L)));

    private static PgKeysetConfig config(String mode) {
        return new PgKeysetConfig(Map.of("connection.url", "jdbc:postgresql://localhost/db", "topic.prefix", "p",
                "snapshot.mode", mode, "incremental.column", "updated_at", "table.include.list", "public\\.big"));
    }

    /** An offset store holding exactly the given offsets. */
    private static OffsetStorageReader store(Map<Map<String, Object>, Map<String, Object>> committed) {
        return new OffsetStorageReader() {
            @Override
            public <T> Map<String, Object> offset(Map<String, T> partition) {
                return committed.get(partition);
            }

            @Override
            public <T> Map<Map<String, T>, Map<String, Object>> offsets(Collection<Map<String, T>> partitions) {
                Map<Map<String, T>, Map<String, Object>> found = new HashMap<>();
                partitions.forEach(p -> {
                    if (committed.containsKey(p)) {
                        found.put(p, committed.get(p));
                    }
                });
                return found;
            }
        };
    }

    @Test
    void aSplitComesBackFromAnyRangeOffset() {
        Map<Map<String, Object>, Map<String, Object>> committed = new HashMap<>();
        committed.put(TablePartition.ofRange(BIG, 1), OffsetCodec.recordOffset(Phase.SNAPSHOT, "[\"id\"]",
                new Object[] {700L}, null, SPLIT.json()));
        TaskAssignment.Progress progress = new CommittedSplits(config("initial"), store(committed), 1, new HashMap<>())
                .progress(TABLE);
        assertEquals(new TaskAssignment.Progress.Split(SPLIT), progress);
    }

    @Test
    void aWholeTableOffsetKeepsTheTableWhole() {
        Map<Map<String, Object>, Map<String, Object>> committed = new HashMap<>();
        committed.put(TablePartition.of(BIG), OffsetCodec.recordOffset(Phase.SNAPSHOT, "[\"id\"]",
                new Object[] {700L}, null));
        assertInstanceOf(TaskAssignment.Progress.StartedWhole.class,
                new CommittedSplits(config("initial"), store(committed), 1, new HashMap<>()).progress(TABLE));
    }

    @Test
    void aSplitDecidedBeforeAnyCommitIsReusedByTheSameConnector() {
        Map<TableId, KeySplit> decided = new HashMap<>(Map.of(BIG, SPLIT));
        assertEquals(new TaskAssignment.Progress.Split(SPLIT),
                new CommittedSplits(config("initial"), store(Map.of()), 1, decided).progress(TABLE));
        assertInstanceOf(TaskAssignment.Progress.Fresh.class,
                new CommittedSplits(config("initial"), store(Map.of()), 1, new HashMap<>()).progress(TABLE));
    }

    @Test
    void nothingIsSplitWhenThereIsNoSnapshot() {
        assertInstanceOf(TaskAssignment.Progress.StartedWhole.class,
                new CommittedSplits(config("never"), null, 1, new HashMap<>()).progress(TABLE));
    }
}

package dev.pgkeyset.connect.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.apache.kafka.connect.storage.OffsetStorageReader;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.offset.KeySplit;
import dev.pgkeyset.connect.offset.OffsetCodec;
import dev.pgkeyset.connect.offset.Phase;
import dev.pgkeyset.connect.offset.TablePartition;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.pg.TableInfo;
import dev.pgkeyset.connect.pg.TableKind;
import dev.pgkeyset.connect.tables.CapturedTable;

class CommittedSplitsTest {

    private static final TableId BIG = new TableId("public", "big");
    private static final ColumnInfo ID = new ColumnInfo("id", 20, "bigint", -1, true);
    private static final CapturedTable TABLE = new CapturedTable(new TableInfo(BIG, TableKind.TABLE, List.of(ID),
            List.of("id"), java.util.Set.of(), 1_000_000), List.of(ID));
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
        TaskAssignment.Progress progress = new CommittedSplits(config("initial"), store(committed), 1, fresh())
                .progress(TABLE);
        assertEquals(new TaskAssignment.Progress.Split(SPLIT), progress);
    }

    @Test
    void aWholeTableOffsetKeepsTheTableWhole() {
        Map<Map<String, Object>, Map<String, Object>> committed = new HashMap<>();
        committed.put(TablePartition.of(BIG), OffsetCodec.recordOffset(Phase.SNAPSHOT, "[\"id\"]",
                new Object[] {700L}, null));
        assertInstanceOf(TaskAssignment.Progress.StartedWhole.class,
                new CommittedSplits(config("initial"), store(committed), 1, fresh()).progress(TABLE));
    }

    @Test
    void aSplitDecidedBeforeAnyCommitIsReusedByTheSameConnector() {
        RememberedSplits decided = fresh();
        decided.remember(BIG, List.of("id"), SPLIT);
        assertEquals(new TaskAssignment.Progress.Split(SPLIT),
                new CommittedSplits(config("initial"), store(Map.of()), 1, decided).progress(TABLE));
        assertInstanceOf(TaskAssignment.Progress.Fresh.class,
                new CommittedSplits(config("initial"), store(Map.of()), 1, fresh()).progress(TABLE));
    }

    /** A new connector instance (a config change, a restart) of the same connector, before any offset flush. */
    @Test
    void aSplitDecidedBeforeAnyCommitSurvivesANewInstanceOfTheSameConnector() {
        String name = "conn-" + System.nanoTime();
        new RememberedSplits(name, "jdbc:postgresql://localhost/db").remember(BIG, List.of("id"), SPLIT);
        assertEquals(new TaskAssignment.Progress.Split(SPLIT), new CommittedSplits(config("initial"), store(Map.of()),
                1, new RememberedSplits(name, "jdbc:postgresql://localhost/db")).progress(TABLE));
        // Another connector, another database, or another key: not the same split.
        assertInstanceOf(TaskAssignment.Progress.Fresh.class, new CommittedSplits(config("initial"),
                store(Map.of()), 1, new RememberedSplits(name + "-other", "jdbc:postgresql://localhost/db"))
                .progress(TABLE));
        assertInstanceOf(TaskAssignment.Progress.Fresh.class, new CommittedSplits(config("initial"),
                store(Map.of()), 1, new RememberedSplits(name, "jdbc:postgresql://elsewhere/db")).progress(TABLE));
        RememberedSplits otherKey = new RememberedSplits(name + "-key", "jdbc:postgresql://localhost/db");
        otherKey.remember(BIG, List.of("tenant", "id"), SPLIT);
        assertInstanceOf(TaskAssignment.Progress.Fresh.class,
                new CommittedSplits(config("initial"), store(Map.of()), 1, otherKey).progress(TABLE));
    }

    /** Once an offset carries a split, the memory is dropped: after an offset reset the table is cut anew. */
    @Test
    void theMemoryIsDroppedOnceTheOffsetsCarryTheSplit() {
        RememberedSplits decided = fresh();
        decided.remember(BIG, List.of("id"), SPLIT);
        Map<Map<String, Object>, Map<String, Object>> committed = new HashMap<>();
        committed.put(TablePartition.ofRange(BIG, 0), rangeOffset(SPLIT, 10L));
        assertEquals(new TaskAssignment.Progress.Split(SPLIT),
                new CommittedSplits(config("initial"), store(committed), 1, decided).progress(TABLE));
        assertInstanceOf(TaskAssignment.Progress.Fresh.class,
                new CommittedSplits(config("initial"), store(Map.of()), 1, decided).progress(TABLE));
    }

    @Test
    void nothingIsSplitWhenThereIsNoSnapshotAndNothingCommitted() {
        assertInstanceOf(TaskAssignment.Progress.StartedWhole.class,
                new CommittedSplits(config("never"), null, 1, fresh()).progress(TABLE));
    }

    /** Issue 12 case 4: a split table switched to snapshot.mode=never keeps its ranges and their offsets. */
    @Test
    void aSplitTableSwitchedToNeverKeepsItsRanges() {
        Map<Map<String, Object>, Map<String, Object>> committed = new HashMap<>();
        committed.put(TablePartition.ofRange(BIG, 0), OffsetCodec.recordOffset(Phase.INCREMENTAL,
                "[\"updated_at\",\"id\"]", new Object[] {"2024-01-01 00:00:00+00", 7L}, null, SPLIT.json()));
        committed.put(TablePartition.ofRange(BIG, 1), rangeOffset(SPLIT, 700L));
        assertEquals(new TaskAssignment.Progress.Split(SPLIT),
                new CommittedSplits(config("never"), store(committed), 1, fresh()).progress(TABLE));
    }

    /**
     * Range offsets of two splits (a split decided again before the first flush, the old ranges'
     * offsets committed at their stop): the split most offsets carry, whatever the order of the
     * offsets' map; on a tie, the split of the lowest range.
     */
    @Test
    void disagreeingRangeOffsetsGiveTheSameAnswerEveryTime() {
        KeySplit three = new KeySplit(List.of(List.of(300L), List.of(600L)));
        KeySplit four = new KeySplit(List.of(List.of(250L), List.of(500L), List.of(750L)));
        long seed = Long.getLong("pgkeyset.seed", System.nanoTime());
        System.out.println("disagreeingRangeOffsets seed " + seed);
        java.util.Random random = new java.util.Random(seed);
        for (int round = 0; round < 50; round++) {
            List<Integer> order = new java.util.ArrayList<>(List.of(0, 1, 2, 3));
            java.util.Collections.shuffle(order, random);
            Map<Map<String, Object>, Map<String, Object>> committed = new java.util.LinkedHashMap<>();
            for (int range : order) {
                // ranges 0..2 of the three-way split, range 3 of the four-way one (and range 1 of it too: a tie)
                committed.put(TablePartition.ofRange(BIG, range), rangeOffset(range == 3 ? four : three, 1L));
            }
            assertEquals(Optional.of(three), CommittedSplits.committedSplit(BIG, committed), "order " + order);
            committed.put(TablePartition.ofRange(BIG, 1), rangeOffset(four, 1L));
            committed.put(TablePartition.ofRange(BIG, 2), rangeOffset(four, 1L));
            assertEquals(Optional.of(four), CommittedSplits.committedSplit(BIG, committed), "order " + order);
            committed.put(TablePartition.ofRange(BIG, 3), rangeOffset(three, 1L)); // range 3 of 3: ignored
            committed.put(TablePartition.ofRange(BIG, 2), rangeOffset(three, 1L));
            // range 0: three, range 1: four, range 2: three -> three (2 votes)
            assertEquals(Optional.of(three), CommittedSplits.committedSplit(BIG, committed), "order " + order);
            committed.put(TablePartition.ofRange(BIG, 2), rangeOffset(four, 1L));
            committed.remove(TablePartition.ofRange(BIG, 3));
            committed.put(TablePartition.ofRange(BIG, 0), rangeOffset(four, 1L));
            committed.put(TablePartition.ofRange(BIG, 1), rangeOffset(three, 1L));
            committed.put(TablePartition.ofRange(BIG, 2), rangeOffset(three, 1L));
            committed.put(TablePartition.ofRange(BIG, 3), rangeOffset(four, 1L));
            // a tie, 2 against 2: the split of range 0
            assertEquals(Optional.of(four), CommittedSplits.committedSplit(BIG, committed), "order " + order);
        }
    }

    private static Map<String, Object> rangeOffset(KeySplit split, long position) {
        return OffsetCodec.recordOffset(Phase.SNAPSHOT, "[\"id\"]", new Object[] {position}, null, split.json());
    }

    private static RememberedSplits fresh() {
        return new RememberedSplits(null, "jdbc:postgresql://localhost/db");
    }
}

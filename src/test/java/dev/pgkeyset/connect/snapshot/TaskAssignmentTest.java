package dev.pgkeyset.connect.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.config.TableSlice;
import dev.pgkeyset.connect.offset.KeySplit;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.pg.TableInfo;
import dev.pgkeyset.connect.pg.TableKind;
import dev.pgkeyset.connect.tables.CapturedTable;

class TaskAssignmentTest {

    private static CapturedTable table(String name, long rows) {
        return new CapturedTable(new TableInfo(new TableId("public", name), TableKind.TABLE, List.of(), List.of("id"),
                java.util.Set.of(), rows), List.of());
    }

    private static TableSlice whole(String name) {
        return TableSlice.whole(new TableId("public", name));
    }

    /** Offsets and samples as a test sets them up; a sample cuts evenly at multiples of 1000. */
    private static final class FakeSplits implements TaskAssignment.Splits {
        final Map<String, TaskAssignment.Progress> progress = new HashMap<>();
        final List<String> sampled = new ArrayList<>();

        @Override
        public TaskAssignment.Progress progress(CapturedTable table) {
            return progress.getOrDefault(table.info().id().table(), new TaskAssignment.Progress.Fresh());
        }

        @Override
        public Optional<KeySplit> sample(CapturedTable table, int ranges) {
            sampled.add(table.info().id().table() + "/" + ranges);
            List<List<Object>> boundaries = new ArrayList<>();
            for (int i = 1; i < ranges; i++) {
                boundaries.add(List.of((long) i * 1000));
            }
            return Optional.of(new KeySplit(boundaries));
        }
    }

    @Test
    void walModeIsOneTaskWithEveryTableWhole() {
        // Tables big enough that query mode splits them over spare tasks.
        List<CapturedTable> tables = List.of(table("big", 10_000_000), table("small", 10), table("mid", 500_000));
        FakeSplits splits = new FakeSplits();
        assertTrue(TaskAssignment.assign(tables, 8, splits).stream().flatMap(List::stream)
                .anyMatch(s -> s.part() == TableSlice.Part.RANGE), "query mode would split");
        assertEquals(List.of(List.of(whole("big"), whole("small"), whole("mid"))), TaskAssignment.oneTask(tables));
        assertEquals(List.of(), TaskAssignment.oneTask(List.of()), "no table, no task (as in query mode)");
    }

    @Test
    void largestTablesGoToTheLeastLoadedTask() {
        List<List<TableSlice>> tasks = TaskAssignment.assign(List.of(table("a", 100), table("b", 1000),
                table("c", 600), table("d", 500), table("e", 0)), 2);
        // b(1000) -> 0; c(600) -> 1; d(500) -> 1 (601 < 1001); a(100) -> 0 (1001 < 1102); e ties, -> 0.
        assertEquals(List.of(whole("b"), whole("a"), whole("e")), tasks.get(0));
        assertEquals(List.of(whole("c"), whole("d")), tasks.get(1));
    }

    @Test
    void neverMoreTasksThanTables() {
        assertEquals(2, TaskAssignment.assign(List.of(table("a", 1), table("b", 1)), 8).size());
        assertEquals(0, TaskAssignment.assign(List.of(), 4).size());
    }

    @Test
    void spareTasksSplitTheLargestFreshTable() {
        FakeSplits splits = new FakeSplits();
        List<List<TableSlice>> tasks = TaskAssignment.assign(List.of(table("big", 300_000), table("small", 10)), 4,
                splits);
        assertEquals(List.of("big/3"), splits.sampled, "3 spare tasks' worth: big in 3 ranges of 100k");
        assertEquals(4, tasks.size());
        List<TableSlice> all = tasks.stream().flatMap(List::stream).toList();
        assertEquals(4, all.size());
        assertTrue(all.contains(whole("small")));
        for (int i = 0; i < 3; i++) {
            int index = i;
            assertTrue(all.stream().anyMatch(s -> s.part() == TableSlice.Part.RANGE && s.range() == index
                    && s.table().table().equals("big")), "range " + i);
        }
    }

    @Test
    void rangesAreNeverSmallerThanTheMinimum() {
        FakeSplits splits = new FakeSplits();
        TaskAssignment.assign(List.of(table("mid", 120_000)), 8, splits);
        assertEquals(List.of("mid/2"), splits.sampled, "120k rows: 2 ranges of 60k, not 8 of 15k");
        FakeSplits none = new FakeSplits();
        assertEquals(1, TaskAssignment.assign(List.of(table("small", 90_000)), 8, none).size());
        assertEquals(List.of(), none.sampled);
    }

    @Test
    void anExistingSplitIsKeptWhateverTasksMaxSays() {
        FakeSplits splits = new FakeSplits();
        KeySplit existing = new KeySplit(List.of(List.of(5L), List.of(9L)));
        splits.progress.put("big", new TaskAssignment.Progress.Split(existing));
        List<List<TableSlice>> tasks = TaskAssignment.assign(List.of(table("big", 3_000_000)), 2, splits);
        assertEquals(List.of(), splits.sampled, "not cut again");
        List<TableSlice> all = tasks.stream().flatMap(List::stream).toList();
        assertEquals(3, all.size(), "all three ranges, on two tasks");
        assertTrue(all.stream().allMatch(s -> s.split().equals(existing)));
        assertEquals(2, tasks.size());
    }

    @Test
    void aTableWhoseSnapshotStartedWholeStaysWhole() {
        FakeSplits splits = new FakeSplits();
        splits.progress.put("big", new TaskAssignment.Progress.StartedWhole());
        List<List<TableSlice>> tasks = TaskAssignment.assign(List.of(table("big", 3_000_000)), 4, splits);
        assertEquals(List.of(List.of(whole("big"))), tasks);
        assertEquals(List.of(), splits.sampled);
    }

    @Test
    void boundariesAreEveryNthSampledKeyEachOnce() {
        List<List<Object>> sample = new ArrayList<>();
        for (long k = 0; k < 100; k++) {
            sample.add(List.of(k));
        }
        assertEquals(List.of(List.of(25L), List.of(50L), List.of(75L)), KeySplitter.boundaries(sample, 4).boundaries());
        List<List<Object>> same = new ArrayList<>();
        for (int k = 0; k < 100; k++) {
            same.add(List.of(k < 50 ? 1L : 2L));
        }
        assertEquals(List.of(List.of(2L)), KeySplitter.boundaries(same, 4).boundaries(),
                "equal keys give fewer ranges, never an empty one between equal boundaries");
        assertEquals(1, KeySplitter.boundaries(List.of(), 4).ranges());
    }
}

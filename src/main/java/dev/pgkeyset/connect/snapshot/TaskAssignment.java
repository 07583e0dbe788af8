package dev.pgkeyset.connect.snapshot;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.pgkeyset.connect.config.TableSlice;
import dev.pgkeyset.connect.offset.KeySplit;
import dev.pgkeyset.connect.tables.CapturedTable;

/**
 * Spreads the work over tasks: whole tables, and — when {@code tasks.max} exceeds what whole tables
 * need — key ranges of large tables, so every task has work. Then the classic greedy heuristic:
 * largest piece first, each to the task with the fewest rows so far.
 *
 * <p>A table split once stays split the same way: its existing split (from its ranges' committed
 * offsets) is reused whatever tasks.max says now, so no finished range is read again and no range
 * is lost. A table whose snapshot already started whole stays whole.
 */
public final class TaskAssignment {

    /** A table is split only into ranges of at least this many estimated rows: below, one cursor is quick. */
    public static final long MIN_ROWS_PER_RANGE = 50_000;
    /** Most ranges per table (the connector looks for this many range offsets per table). */
    public static final int MAX_RANGES = 64;

    /** Where a table stands, from its committed offsets. */
    public sealed interface Progress {
        /** Nothing committed: it may be split. */
        record Fresh() implements Progress {
        }

        /** Its snapshot started (or ended) as one piece: it stays whole. */
        record StartedWhole() implements Progress {
        }

        /** It was split: the same ranges again. */
        record Split(KeySplit split) implements Progress {
        }
    }

    /** The connector's view of offsets and the database, as assignment needs it. */
    public interface Splits {
        Progress progress(CapturedTable table);

        /** A new split into at most {@code ranges}; empty when it cannot be sampled (then the table stays whole). */
        Optional<KeySplit> sample(CapturedTable table, int ranges);

        /** A fresh table was given to one task whole: it must stay whole even before its first offset is committed. */
        default void assignedWhole(CapturedTable table) {
        }
    }

    private TaskAssignment() {
    }

    /**
     * capture.mode=wal: one task streams the one slot, so it also takes every table's snapshot,
     * each table whole (no key ranges: their offsets would only serve tasks that do not exist).
     */
    public static List<List<TableSlice>> oneTask(List<CapturedTable> tables) {
        if (tables.isEmpty()) {
            return List.of(); // as in query mode: no task until a table matches
        }
        List<TableSlice> all = new ArrayList<>(tables.size());
        tables.forEach(t -> all.add(TableSlice.whole(t.info().id())));
        return List.of(all);
    }

    /** Whole tables only: never more tasks than tables. */
    public static List<List<TableSlice>> assign(List<CapturedTable> tables, int maxTasks) {
        return assign(tables, maxTasks, new Splits() {
            @Override
            public Progress progress(CapturedTable table) {
                return new Progress.StartedWhole();
            }

            @Override
            public Optional<KeySplit> sample(CapturedTable table, int ranges) {
                return Optional.empty();
            }
        });
    }

    public static List<List<TableSlice>> assign(List<CapturedTable> tables, int maxTasks, Splits splits) {
        Map<CapturedTable, KeySplit> split = new HashMap<>();
        Map<CapturedTable, Integer> wanted = new java.util.LinkedHashMap<>();
        int pieces = 0;
        for (CapturedTable table : tables) {
            Progress progress = splits.progress(table);
            if (progress instanceof Progress.Split existing) {
                split.put(table, existing.split());
                pieces += existing.split().ranges();
            } else {
                if (progress instanceof Progress.Fresh) {
                    wanted.put(table, 1);
                }
                pieces++;
            }
        }
        // Spare tasks go, one range at a time, to the fresh table with the most rows per range.
        for (int spare = maxTasks - pieces; spare > 0; spare--) {
            CapturedTable best = null;
            for (Map.Entry<CapturedTable, Integer> candidate : wanted.entrySet()) {
                long perRange = candidate.getKey().info().estimatedRows() / (candidate.getValue() + 1);
                if (perRange >= MIN_ROWS_PER_RANGE && candidate.getValue() < MAX_RANGES && (best == null
                        || perRange > best.info().estimatedRows() / (wanted.get(best) + 1))) {
                    best = candidate.getKey();
                }
            }
            if (best == null) {
                break;
            }
            wanted.merge(best, 1, Integer::sum);
        }
        wanted.forEach((table, ranges) -> {
            if (ranges > 1) {
                splits.sample(table, ranges).filter(s -> s.ranges() > 1).ifPresent(s -> split.put(table, s));
            }
        });

        List<Piece> work = new ArrayList<>();
        for (CapturedTable table : tables) {
            KeySplit tableSplit = split.get(table);
            if (tableSplit == null) {
                if (wanted.containsKey(table)) {
                    splits.assignedWhole(table);
                }
                // +1 so that empty or never-analysed tables are spread too.
                work.add(new Piece(TableSlice.whole(table.info().id()), table.info().estimatedRows() + 1));
            } else {
                for (int i = 0; i < tableSplit.ranges(); i++) {
                    work.add(new Piece(TableSlice.range(table.info().id(), i, tableSplit),
                            table.info().estimatedRows() / tableSplit.ranges() + 1));
                }
            }
        }
        return greedy(work, maxTasks);
    }

    private record Piece(TableSlice slice, long rows) {
    }

    private static List<List<TableSlice>> greedy(List<Piece> work, int maxTasks) {
        int taskCount = Math.min(maxTasks, work.size());
        List<List<TableSlice>> tasks = new ArrayList<>(taskCount);
        long[] load = new long[taskCount];
        for (int i = 0; i < taskCount; i++) {
            tasks.add(new ArrayList<>());
        }
        List<Piece> bySize = new ArrayList<>(work);
        bySize.sort(Comparator.comparingLong(Piece::rows).reversed()
                .thenComparing(p -> p.slice().table())
                .thenComparingInt(p -> p.slice().range()));
        for (Piece piece : bySize) {
            int lightest = 0;
            for (int i = 1; i < taskCount; i++) {
                if (load[i] < load[lightest]) {
                    lightest = i;
                }
            }
            tasks.get(lightest).add(piece.slice());
            load[lightest] += piece.rows();
        }
        return tasks;
    }
}

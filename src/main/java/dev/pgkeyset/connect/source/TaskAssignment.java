package dev.pgkeyset.connect.source;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import dev.pgkeyset.connect.pg.TableId;

/**
 * Spreads whole tables over tasks so their estimated rows are balanced: largest table first, each
 * to the task with the fewest rows so far (the classic greedy heuristic). Never more tasks than tables.
 */
public final class TaskAssignment {

    private TaskAssignment() {
    }

    public static List<List<TableId>> assign(List<CapturedTable> tables, int maxTasks) {
        int taskCount = Math.min(maxTasks, tables.size());
        List<List<TableId>> tasks = new ArrayList<>(taskCount);
        long[] load = new long[taskCount];
        for (int i = 0; i < taskCount; i++) {
            tasks.add(new ArrayList<>());
        }
        List<CapturedTable> bySize = new ArrayList<>(tables);
        bySize.sort(Comparator.comparingLong((CapturedTable t) -> t.info().estimatedRows()).reversed()
                .thenComparing(t -> t.info().id()));
        for (CapturedTable table : bySize) {
            int lightest = 0;
            for (int i = 1; i < taskCount; i++) {
                if (load[i] < load[lightest]) {
                    lightest = i;
                }
            }
            tasks.get(lightest).add(table.info().id());
            // +1 so that empty or never-analysed tables are spread too.
            load[lightest] += table.info().estimatedRows() + 1;
        }
        return tasks;
    }
}

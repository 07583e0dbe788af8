package dev.pgkeyset.connect.config;

import java.util.Map;

import dev.pgkeyset.connect.offset.KeySplit;
import dev.pgkeyset.connect.offset.TablePartition;
import dev.pgkeyset.connect.pg.TableId;

/**
 * What one reader of a task reads: a whole table, or one key range of a large table. Either is
 * copied, then (unless snapshot-only) followed: a key range follows the changes of its own keys,
 * so every key is always read by the same reader, and a change never reaches a topic before an
 * older snapshot copy of its row.
 *
 * @param range the range's index for {@link Part#RANGE}, else -1
 * @param split the table's split for {@link Part#RANGE}, else null
 */
public record TableSlice(TableId table, Part part, int range, KeySplit split) {

    public enum Part { WHOLE, RANGE }

    public static TableSlice whole(TableId table) {
        return new TableSlice(table, Part.WHOLE, -1, null);
    }

    public static TableSlice range(TableId table, int index, KeySplit split) {
        return new TableSlice(table, Part.RANGE, index, split);
    }

    /** The source partition its offsets are committed under. */
    public Map<String, Object> partition() {
        return part == Part.RANGE ? TablePartition.ofRange(table, range) : TablePartition.of(table);
    }

    /** For logs: {@code public.big}, {@code public.big range 2/3}. */
    @Override
    public String toString() {
        return part == Part.WHOLE ? table.toString() : table + " range " + (range + 1) + "/" + split.ranges();
    }
}

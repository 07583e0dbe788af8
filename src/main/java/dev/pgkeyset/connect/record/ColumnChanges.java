package dev.pgkeyset.connect.record;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import dev.pgkeyset.connect.pg.ColumnInfo;

/** Describes, for the log, how a table's columns changed between two reads of the catalog. */
public final class ColumnChanges {

    private ColumnChanges() {
    }

    public static String describe(List<ColumnInfo> before, List<ColumnInfo> after) {
        Map<String, ColumnInfo> old = before.stream().collect(Collectors.toMap(ColumnInfo::name, Function.identity()));
        Map<String, ColumnInfo> now = after.stream().collect(Collectors.toMap(ColumnInfo::name, Function.identity()));
        List<String> parts = new ArrayList<>();
        for (ColumnInfo column : after) {
            ColumnInfo previous = old.get(column.name());
            if (previous == null) {
                parts.add("added " + column.name() + " " + column.typeName());
            } else if (!previous.equals(column)) {
                parts.add("changed " + column.name() + " " + previous.typeName() + (previous.notNull() ? " not null" : "")
                        + " -> " + column.typeName() + (column.notNull() ? " not null" : ""));
            }
        }
        before.stream().filter(c -> !now.containsKey(c.name())).forEach(c -> parts.add("dropped " + c.name()));
        return parts.isEmpty() ? "column order" : String.join(", ", parts);
    }
}

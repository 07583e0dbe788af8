package dev.pgkeyset.connect.record;

import java.util.ArrayList;
import java.util.List;

import dev.pgkeyset.connect.changes.query.ChangeHorizon;
import dev.pgkeyset.connect.config.TableSlice;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.query.KeysetQuery;
import dev.pgkeyset.connect.snapshot.NullKeyCheck;
import dev.pgkeyset.connect.tables.CapturedTable;

/**
 * The SQL a plan reads its table with: the snapshot's and change phase's keyset queries, bounded
 * to the plan's key range, the queries that look for NULL keys, and the fetch of rows by key. All
 * select the columns through the same list, so every query reads a value as the others do.
 */
final class TableQueries {

    private final CapturedTable table;
    private final TableSlice slice;
    private final RowLayout layout;
    private final List<ColumnInfo> nullableKey;

    TableQueries(CapturedTable table, TableSlice slice, RowLayout layout) {
        this.table = table;
        this.slice = slice;
        this.layout = layout;
        this.nullableKey = table.key().stream().filter(c -> !c.notNull()).toList();
    }

    private TableId id() {
        return table.info().id();
    }

    private boolean only() {
        return table.info().kind().readWithOnly();
    }

    private List<Object> lowerBound() {
        return slice.split() == null ? List.of() : slice.split().lower(slice.range());
    }

    private List<Object> upperBound() {
        return slice.split() == null ? List.of() : slice.split().upper(slice.range());
    }

    KeysetQuery snapshot(List<Object> after, KeysetQuery.Restriction restriction) {
        return KeysetQuery.snapshot(id(), only(), layout.selectList(), table.key(), after, lowerBound(),
                upperBound(), restriction);
    }

    /** The key columns not declared NOT NULL (chosen in key.columns), which {@link NullKeyCheck} looks at. */
    List<ColumnInfo> nullableKeyColumns() {
        return nullableKey;
    }

    /**
     * Whether this plan's reader looks for NULL keys: only when a key column may be NULL, and only
     * the whole table's reader or its last range's (a NULL sorts after every value), one per table.
     */
    boolean looksForNullKeys() {
        return !nullableKey.isEmpty() && (slice.split() == null || slice.range() == slice.split().ranges() - 1);
    }

    KeysetQuery nullKeys() {
        return KeysetQuery.nullKeys(id(), only(), nullableKey);
    }

    KeysetQuery nullKeys(Object from, ChangeHorizon.Bound horizon) {
        return KeysetQuery.nullKeys(id(), only(), nullableKey, table.tracking().orElseThrow(), from,
                horizon.value(), horizon.inclusive());
    }

    KeysetQuery changes(List<Object> after, Object from, ChangeHorizon.Bound horizon) {
        return KeysetQuery.changes(id(), only(), layout.selectList(), table.tracking().orElseThrow(), table.key(),
                after, from, horizon.value(), horizon.inclusive(), lowerBound(), upperBound());
    }

    /**
     * Reads the current values of {@code columns} of the rows with the given keys (each as
     * {@link TablePlan#keyValues} gives it): the key columns come first, then {@code columns}, each
     * read through its converter as the snapshot reads it.
     */
    KeysetQuery rowsByKey(int[] columns, List<List<Object>> keys) {
        List<String> selectList = layout.selectList();
        int[] keyIndexes = layout.keyIndexes();
        List<String> select = new ArrayList<>(keyIndexes.length + columns.length);
        for (int keyIndex : keyIndexes) {
            select.add(selectList.get(keyIndex));
        }
        for (int column : columns) {
            select.add(selectList.get(column));
        }
        return KeysetQuery.byKeys(id(), only(), select, table.key(), keys);
    }
}

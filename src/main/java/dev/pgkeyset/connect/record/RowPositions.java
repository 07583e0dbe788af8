package dev.pgkeyset.connect.record;

import java.time.DateTimeException;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.pgkeyset.connect.offset.OffsetCodec;
import dev.pgkeyset.connect.offset.Phase;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.snapshot.NullKeyCheck;
import dev.pgkeyset.connect.tables.CapturedTable;

/**
 * Where a row stands in the table's key order, as the offsets record it: its key values,
 * preceded in the change phase by its tracking value, and the columns those values are in. Kept
 * apart from the records so that a resumed read and a WAL change compare keys the same way the
 * offsets wrote them (offset values, JSON scalars equal for equal keys).
 */
final class RowPositions {

    private final TableId table;
    private final RowLayout layout;
    private final List<String> keyColumnNames;
    private final String keyColumnsJson;
    private final List<String> changeColumnNames;
    private final String changeColumnsJson;
    /** Index of the tracking column among the columns, -1 when changes are not followed. */
    private final int trackingIndex;
    /** The table's split in JSON, for the offsets of a key range; null for a whole table. */
    private final String splitJson;

    RowPositions(CapturedTable table, RowLayout layout, String splitJson) {
        this.table = table.info().id();
        this.layout = layout;
        this.splitJson = splitJson;
        List<ColumnInfo> columns = table.info().columns();
        this.keyColumnNames = table.key().stream().map(ColumnInfo::name).toList();
        this.keyColumnsJson = OffsetCodec.keyColumnsJson(keyColumnNames);
        this.trackingIndex = table.tracking().map(columns::indexOf).orElse(-1);
        List<String> changeColumns = new ArrayList<>();
        table.tracking().ifPresent(t -> changeColumns.add(t.name()));
        changeColumns.addAll(keyColumnNames);
        this.changeColumnNames = List.copyOf(changeColumns);
        this.changeColumnsJson = OffsetCodec.keyColumnsJson(changeColumnNames);
    }

    List<String> keyColumnNames() {
        return keyColumnNames;
    }

    /** Columns a change-phase position is expressed in: the tracking column, then the key. */
    List<String> changeColumnNames() {
        return changeColumnNames;
    }

    /**
     * The row's position as offset values: its key, preceded in the change phase by its tracking
     * value. Fails naming the column if a key value is NULL.
     */
    Object[] position(Object[] raw, boolean changePhase) {
        int[] keyIndexes = layout.keyIndexes();
        int shift = changePhase ? 1 : 0;
        Object[] position = new Object[keyIndexes.length + shift];
        if (changePhase) {
            // Never NULL here: the change query's row comparison excludes NULL tracking values.
            position[0] = layout.converter(trackingIndex).toOffset(raw[trackingIndex]);
        }
        for (int k = 0; k < keyIndexes.length; k++) {
            Object value = raw[keyIndexes[k]];
            if (value == null) {
                throw NullKeyCheck.nullKey(table, layout.keyFields()[k].name());
            }
            position[k + shift] = layout.converter(keyIndexes[k]).toOffset(value);
        }
        return position;
    }

    /** The source offset of a record at {@code position} (as {@link #position} gives it) in {@code phase}. */
    Map<String, Object> offset(Phase phase, Object[] position, String changesFrom) {
        return OffsetCodec.recordOffset(phase, phase == Phase.INCREMENTAL ? changeColumnsJson : keyColumnsJson,
                position, changesFrom, splitJson);
    }

    /** Whether every key column of the row has a value (what {@link #keyValues} checks, without building the key). */
    boolean hasKeyValues(Object[] raw) {
        for (int keyIndex : layout.keyIndexes()) {
            if (raw[keyIndex] == null) {
                return false;
            }
        }
        return true;
    }

    /** The key of a row as offset values (JSON scalars equal for equal keys), or null when a key value is missing. */
    List<Object> keyValues(Object[] raw) {
        int[] keyIndexes = layout.keyIndexes();
        Object[] values = new Object[keyIndexes.length];
        for (int k = 0; k < keyIndexes.length; k++) {
            Object value = raw[keyIndexes[k]];
            if (value == null) {
                return null;
            }
            values[k] = layout.converter(keyIndexes[k]).toOffset(value);
        }
        return Arrays.asList(values);
    }

    /** A row's tracking value as epoch milliseconds, for clock columns (wall-clock values read in {@code zone}). */
    Optional<Long> trackingEpochMillis(Object[] raw, ZoneId zone) {
        Object value = trackingIndex < 0 ? null : raw[trackingIndex];
        try {
            if (value instanceof OffsetDateTime t) {
                return Optional.of(t.toInstant().toEpochMilli());
            }
            if (value instanceof LocalDateTime t) {
                return Optional.of(t.atZone(zone).toInstant().toEpochMilli());
            }
            if (value instanceof LocalDate d) {
                return Optional.of(d.atStartOfDay(zone).toInstant().toEpochMilli());
            }
        } catch (ArithmeticException | DateTimeException infinity) {
            // ±infinity: no lag to speak of
        }
        return Optional.empty();
    }
}

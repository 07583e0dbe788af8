package dev.pgkeyset.connect.tables;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.config.SnapshotMode;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.TableInfo;
import dev.pgkeyset.connect.schema.TrackingType;

/**
 * A table the connector reads: the keyset key it is read by and, when changes are followed, its
 * tracking column and (optionally) its soft-delete column.
 */
public record CapturedTable(TableInfo info, List<ColumnInfo> key, Optional<ColumnInfo> tracking,
                            Optional<ColumnInfo> softDelete) {

    /** A table read by key only (snapshot-only mode). */
    public CapturedTable(TableInfo info, List<ColumnInfo> key) {
        this(info, key, Optional.empty(), Optional.empty());
    }

    /**
     * Works out how a table is read under a configuration.
     *
     * @return the table, or a problem a person must fix (never both)
     */
    public static Resolution resolve(TableInfo table, PgKeysetConfig config) {
        Optional<List<String>> override = config.keyColumns().columnsFor(table.id());
        List<String> names = override.orElse(table.primaryKey());
        if (names.isEmpty()) {
            return Resolution.problem("Table " + table.id() + " has no primary key; name its unique, non-null key "
                    + "columns in key.columns, e.g. '" + table.id() + ":id', or exclude it with table.exclude.list");
        }
        List<ColumnInfo> key = new ArrayList<>(names.size());
        for (String name : names) {
            Optional<ColumnInfo> column = table.column(name);
            if (column.isEmpty()) {
                return Resolution.problem("key.columns names column '" + name + "' of table " + table.id()
                        + ", which has no such column (columns: " + columnNames(table) + ")");
            }
            key.add(column.get());
        }
        if (config.snapshotMode() == SnapshotMode.INITIAL_ONLY
                || config.captureMode() == dev.pgkeyset.connect.config.CaptureMode.WAL) {
            return Resolution.ok(new CapturedTable(table, List.copyOf(key)));
        }
        Optional<String> trackingName = config.incrementalColumns().columnsFor(table.id()).map(c -> c.get(0))
                .or(() -> Optional.ofNullable(config.incrementalColumn()).filter(c -> table.column(c).isPresent()));
        if (trackingName.isEmpty()) {
            return Resolution.problem("incremental.columns: table " + table.id() + " has no tracking column, which "
                    + "snapshot.mode=" + config.snapshotMode().configName() + " needs; name one in incremental.columns "
                    + "(e.g. '" + table.id() + ":updated_at'), exclude the table, or use snapshot.mode=initial_only");
        }
        Optional<ColumnInfo> tracking = table.column(trackingName.get());
        if (tracking.isEmpty()) {
            return Resolution.problem("incremental.columns: table " + table.id() + " has no column '"
                    + trackingName.get() + "' (columns: " + columnNames(table) + ")");
        }
        String trackingProblem = TrackingType.problemWith(tracking.get());
        if (trackingProblem != null) {
            return Resolution.problem("incremental.columns: tracking column " + table.id() + "." + trackingName.get()
                    + " " + trackingProblem);
        }
        Optional<ColumnInfo> softDelete = Optional.ofNullable(config.softDeleteColumn()).flatMap(table::column);
        if (softDelete.isPresent() && !TrackingType.isSoftDeleteMarker(softDelete.get())) {
            return Resolution.problem("soft.delete.column: column " + table.id() + "." + softDelete.get().name()
                    + " is of type " + softDelete.get().typeName() + "; a boolean, timestamp or date is expected");
        }
        return Resolution.ok(new CapturedTable(table, List.copyOf(key), tracking, softDelete));
    }

    private static List<String> columnNames(TableInfo table) {
        return table.columns().stream().map(ColumnInfo::name).toList();
    }

    /** Whether the tracking column leads a btree index (else every change query scans the table). */
    public boolean trackingIndexed() {
        return tracking.map(t -> info.indexLeadingColumns().contains(t.name())).orElse(true);
    }

    /** Either a captured table or the reason it cannot be captured. */
    public record Resolution(CapturedTable table, String problem) {
        static Resolution ok(CapturedTable table) {
            return new Resolution(table, null);
        }

        static Resolution problem(String problem) {
            return new Resolution(null, problem);
        }

        public boolean ok() {
            return table != null;
        }
    }
}

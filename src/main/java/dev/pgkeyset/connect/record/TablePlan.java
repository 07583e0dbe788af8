package dev.pgkeyset.connect.record;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.header.Headers;
import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.changes.query.ChangeHorizon;
import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.config.RecordFormat;
import dev.pgkeyset.connect.config.TableSlice;
import dev.pgkeyset.connect.offset.Phase;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.Sql;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.pg.TableInfo;
import dev.pgkeyset.connect.query.KeysetQuery;
import dev.pgkeyset.connect.schema.SerializedSize;
import dev.pgkeyset.connect.snapshot.NullKeyCheck;
import dev.pgkeyset.connect.tables.CapturedTable;

/**
 * Everything about a table that does not change from row to row, worked out once: its topic,
 * partition, schemas and per-column converters. It turns one row's raw values into a record.
 * <p>
 * This is the one object the readers hold per table (or key range), and the one that is replaced
 * when the table's columns change ({@link #withColumns}). The work is done by its parts, each
 * made once here: {@link RowLayout} (converters and schemas), {@link RowPositions} (offsets and
 * keys), {@link TableQueries} (SQL), {@link RecordSizeEstimate}, {@link QueryRecords} and
 * {@link WalRecords} (the records of each capture mode).
 */
public final class TablePlan {

    private static final Logger log = LoggerFactory.getLogger(TablePlan.class);

    /**
     * Header naming the operation: {@code r} snapshot read, {@code u} change, {@code d} delete; from
     * the WAL also {@code c} insert and {@code t} truncate.
     */
    public static final String OP_HEADER = "pgkeyset.op";

    private final CapturedTable table;
    private final PgKeysetConfig config;
    /** The whole table, or the key range this plan reads. */
    private final TableSlice slice;
    private final Map<String, Object> partition;
    private final RowLayout layout;
    private final RowPositions positions;
    private final TableQueries queries;
    private final RecordSizeEstimate size;
    private final QueryRecords queryRecords;
    private final WalRecords walRecords;
    /** The value's envelope in record.format=envelope; null in record.format=row. */
    private final Envelope envelope;
    private final boolean tombstonesOnDelete;

    public TablePlan(CapturedTable table, PgKeysetConfig config) {
        this(table, config, TableSlice.whole(table.info().id()));
    }

    public TablePlan(CapturedTable table, PgKeysetConfig config, TableSlice slice) {
        this.table = table;
        this.config = config;
        this.slice = slice;
        String splitJson = slice.split() == null ? null : slice.split().json();
        TableId id = table.info().id();
        String topic = config.topicFor(id);
        this.partition = slice.partition();
        this.layout = new RowLayout(table, config, topic);
        this.positions = new RowPositions(table, layout, splitJson);
        this.queries = new TableQueries(table, slice, layout);
        int softDeleteIndex = table.softDelete().map(table.info().columns()::indexOf).orElse(-1);
        RowStructs structs = layout.structs(id);
        this.envelope = config.recordFormat() == RecordFormat.ENVELOPE
                ? new Envelope(topic, layout.valueSchema(), new SourceInfo(config.topicPrefix(), database(config), id))
                : null;
        this.tombstonesOnDelete = config.tombstonesOnDelete();
        this.size = new RecordSizeEstimate(layout, envelope != null);
        this.queryRecords = new QueryRecords(topic, partition, layout, structs, positions, envelope,
                slice.split() != null, softDeleteIndex, tombstonesOnDelete);
        this.walRecords = new WalRecords(topic, layout, structs, envelope);
        if (table.tracking().isPresent() && !table.trackingIndexed()) {
            log.warn("Table {}: no btree index starts with tracking column {}; every change query scans the table. "
                    + "Create one, e.g. CREATE INDEX ON {} ({}, {})", id, table.tracking().get().name(), id.quoted(),
                    Sql.quoteIdentifier(table.tracking().get().name()), Sql.quotedList(positions.keyColumnNames()));
        }
    }

    /** The database connection.url names (the envelope's source.db), as the driver reads the URL. */
    private static String database(PgKeysetConfig config) {
        Properties parsed = org.postgresql.Driver.parseURL(config.connectionUrl(), null);
        String name = parsed == null ? null : parsed.getProperty("PGDBNAME");
        return name == null ? "" : name;
    }

    public TableId id() {
        return table.info().id();
    }

    /** The table's OID when the task read the catalog (kept by a rename); 0 when not known. */
    public long oid() {
        return table.info().oid();
    }

    /** Whether records carry Debezium's envelope (record.format=envelope). */
    public boolean envelopeFormat() {
        return envelope != null;
    }

    /** The envelope's schema; null in record.format=row. */
    public Schema envelopeSchema() {
        return envelope == null ? null : envelope.schema();
    }

    public List<ColumnInfo> columns() {
        return table.info().columns();
    }

    // ---- The plan as the table changes ----

    /**
     * The plan for the table's columns as they are now (a column added, dropped or retyped).
     * Fails naming the table when it can no longer be read as configured (its key or tracking
     * column gone).
     */
    public TablePlan withColumns(List<ColumnInfo> columns) {
        TableInfo info = table.info();
        CapturedTable.Resolution resolution = CapturedTable.resolve(new TableInfo(info.id(),
                info.kind(), List.copyOf(columns), info.primaryKey(), info.indexLeadingColumns(), info.estimatedRows(),
                info.oid()),
                config);
        if (!resolution.ok()) {
            throw new ConnectException("Table " + id() + " changed so that it can no "
                    + "longer be read as configured: " + resolution.problem());
        }
        return new TablePlan(resolution.table(), config, slice);
    }

    /** The last plan {@link #admittingNulls} made: a WAL backlog tends to repeat one case. */
    private volatile TablePlan admitting;

    /**
     * This plan, or one whose fields are optional for the NOT NULL columns {@code raw} holds null
     * in. Only the WAL gives such rows: a NULL written before the column became NOT NULL (the
     * plan follows the catalog, which is newer than that change), or an unchanged TOAST value
     * whose row was gone when fetched (sent as null, named by pgkeyset.unavailable). A required
     * field cannot hold null: a worker's converter would refuse the record, and the task would
     * fail on that change at every start. Key columns are left alone (a null key is an error).
     */
    public TablePlan admittingNulls(Object[] raw) {
        List<ColumnInfo> columns = columns();
        List<ColumnInfo> relaxed = null;
        for (int i = 0; i < raw.length; i++) {
            ColumnInfo column = columns.get(i);
            if (raw[i] == null && column.notNull() && !layout.isKey(i)) {
                if (relaxed == null) {
                    relaxed = new ArrayList<>(columns);
                }
                relaxed.set(i, new ColumnInfo(column.name(), column.type(), column.typeName(), column.dimensions(),
                        false));
            }
        }
        if (relaxed == null) {
            return this;
        }
        TablePlan last = admitting;
        if (last == null || !last.columns().equals(relaxed)) {
            last = withColumns(relaxed);
            admitting = last;
        }
        return last;
    }

    /** Whether the change phase's tracking column is still the same column of the same type. */
    public boolean sameTracking(TablePlan other) {
        return table.tracking().equals(other.table.tracking());
    }

    // ---- Where the plan reads, and the queries it reads with (TableQueries) ----

    public TableSlice slice() {
        return slice;
    }

    /** The rows this plan is expected to read: the table's estimate, shared evenly between its ranges. */
    public long estimatedRows() {
        return slice.split() == null ? table.info().estimatedRows()
                : table.info().estimatedRows() / slice.split().ranges();
    }

    public Map<String, Object> partition() {
        return partition;
    }

    public KeysetQuery snapshotQuery(List<Object> after) {
        return queries.snapshot(after, null);
    }

    /** The same, restricted to the rows {@code restriction} admits (e.g. one leaf partition's). */
    public KeysetQuery snapshotQuery(List<Object> after, KeysetQuery.Restriction restriction) {
        return queries.snapshot(after, restriction);
    }

    /** The key columns not declared NOT NULL (chosen in key.columns), which {@link NullKeyCheck} looks at. */
    public List<ColumnInfo> nullableKeyColumns() {
        return queries.nullableKeyColumns();
    }

    /**
     * Whether this plan's reader looks for NULL keys: only when a key column may be NULL, and only
     * the whole table's reader or its last range's (a NULL sorts after every value), one per table.
     */
    public boolean looksForNullKeys() {
        return queries.looksForNullKeys();
    }

    public KeysetQuery nullKeysQuery() {
        return queries.nullKeys();
    }

    public KeysetQuery nullKeysQuery(Object from, ChangeHorizon.Bound horizon) {
        return queries.nullKeys(from, horizon);
    }

    public KeysetQuery changesQuery(List<Object> after, Object from, ChangeHorizon.Bound horizon) {
        return queries.changes(after, from, horizon);
    }

    /**
     * Reads the current values of {@code columns} of the rows with the given keys (each as
     * {@link #keyValues} gives it): the key columns come first, then {@code columns}, each read
     * through its converter as the snapshot reads it.
     */
    public KeysetQuery rowsByKeyQuery(int[] columns, List<List<Object>> keys) {
        return queries.rowsByKey(columns, keys);
    }

    /** A new horizon for this table's tracking column (it may keep state: one per reader). */
    public ChangeHorizon newHorizon() {
        return ChangeHorizon.forColumn(id(), table.info().kind().readWithOnly(), table.tracking().orElseThrow());
    }

    // ---- A row's values (RowLayout) and its place in the offsets (RowPositions) ----

    /** Reads the current row's values; never keeps a reference to the result set. */
    public Object[] readRow(ResultSet rs) throws SQLException {
        return layout.readRow(rs);
    }

    /** The raw value of {@code column} at position {@code index} of a result set. */
    public Object readColumn(ResultSet rs, int column, int index) throws SQLException {
        return layout.readColumn(rs, column, index);
    }

    /**
     * Column {@code column}'s raw value (as {@link #readRow} would read it) from its text form as
     * PostgreSQL's output function writes it, which is what the WAL's text format carries.
     */
    public Object rawFromText(int column, String text) {
        return layout.rawFromText(column, text);
    }

    /** Index of each key column among the columns, in key order. */
    public int[] keyIndexes() {
        return layout.keyIndexes().clone();
    }

    public List<String> keyColumnNames() {
        return positions.keyColumnNames();
    }

    /** Columns a change-phase position is expressed in: the tracking column, then the key. */
    public List<String> changeColumnNames() {
        return positions.changeColumnNames();
    }

    /**
     * The row's position as offset values: its key, preceded in the change phase by its tracking
     * value. Fails naming the column if a key value is NULL.
     */
    public Object[] position(Object[] raw, boolean changePhase) {
        return positions.position(raw, changePhase);
    }

    /** Whether every key column of the row has a value (what {@link #keyValues} checks, without building the key). */
    public boolean hasKeyValues(Object[] raw) {
        return positions.hasKeyValues(raw);
    }

    /** The key of a row as offset values (JSON scalars equal for equal keys), or null when a key value is missing. */
    public List<Object> keyValues(Object[] raw) {
        return positions.keyValues(raw);
    }

    /** A row's tracking value as epoch milliseconds, for clock columns (wall-clock values read in {@code zone}). */
    public Optional<Long> trackingEpochMillis(Object[] raw, ZoneId zone) {
        return positions.trackingEpochMillis(raw, zone);
    }

    /**
     * The row's record as a converter will write it ({@link SerializedSize}): key and value, each
     * field's name and value; the key's values count twice, since they are in both.
     */
    public long estimateBytes(Object[] raw) {
        return size.estimateBytes(raw);
    }

    // ---- Records of rows read by a query (QueryRecords) ----

    /**
     * The record of one row. A row marked by the soft-delete column becomes a tombstone (null value,
     * op {@code d}); otherwise the op is {@code r} in the snapshot and {@code u} in the change phase.
     */
    public SourceRecord toRecord(Object[] raw, Object[] position, Phase phase, String changesFrom) {
        return queryRecords.toRecord(raw, position, phase, changesFrom);
    }

    /**
     * In record.format=envelope with tombstones.on.delete, the tombstone that follows a delete
     * event {@code record} of this plan (same key, headers and offset); null for any other record.
     */
    public SourceRecord tombstoneFollowing(SourceRecord record) {
        return queryRecords.tombstoneFollowing(record);
    }

    /** Whether a delete in record.format=envelope is followed by a tombstone. */
    public boolean tombstonesAfterDeletes() {
        return envelope != null && tombstonesOnDelete;
    }

    // ---- Change records from raw values (capture.mode=wal; WalRecords) ----

    /** Adds a header holding the key of {@code raw} (with the key's schema), as Debezium names a key change's other key. */
    public void addKeyHeader(Headers headers, String name, Object[] raw) {
        walRecords.addKeyHeader(headers, name, raw);
    }

    /**
     * A change record of one row's raw values, in a partition and at an offset of the caller's
     * (the WAL stream's): topic, key and value as in the snapshot. {@code tombstone}: a null value
     * (a delete; only the key columns of {@code raw} need values). {@code headers} already carry
     * the operation.
     */
    public SourceRecord toChangeRecord(Object[] raw, boolean tombstone, Map<String, ?> partition,
                                       Map<String, ?> offset, Headers headers) {
        return walRecords.toChangeRecord(raw, tombstone, partition, offset, headers);
    }

    /**
     * A record that stands for the whole table (a TRUNCATE): no key, on the table's topic; no value
     * in record.format=row, an op=t envelope with neither row in record.format=envelope.
     */
    public SourceRecord toTableRecord(Map<String, ?> partition, Map<String, ?> offset, Headers headers,
                                      WalSource source) {
        return walRecords.toTableRecord(partition, offset, headers, source);
    }

    /**
     * The envelope record of a change read from the WAL (record.format=envelope), on a plan that
     * admits the NULLs of both rows ({@link #admittingNulls}). {@code before}: the old row, or only
     * its key columns (REPLICA IDENTITY DEFAULT), or null; {@code after}: the new row, or null for a
     * delete. The key is the new row's, or the old one's for a delete.
     */
    public SourceRecord toEnvelopeRecord(Object[] before, Object[] after, String op, WalSource source,
                                         Map<String, ?> partition, Map<String, ?> offset, Headers headers) {
        return walRecords.toEnvelopeRecord(before, after, op, source, partition, offset, headers);
    }
}

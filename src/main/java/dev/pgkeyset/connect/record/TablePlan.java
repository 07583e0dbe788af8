package dev.pgkeyset.connect.record;

import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.header.ConnectHeaders;
import org.apache.kafka.connect.header.Headers;
import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.config.RecordFormat;
import dev.pgkeyset.connect.config.TableSlice;
import dev.pgkeyset.connect.offset.OffsetCodec;
import dev.pgkeyset.connect.offset.Phase;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.Sql;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.pg.TableInfo;
import dev.pgkeyset.connect.query.KeysetQuery;
import dev.pgkeyset.connect.schema.ColumnConverter;
import dev.pgkeyset.connect.schema.Converters;
import dev.pgkeyset.connect.schema.SerializedSize;
import dev.pgkeyset.connect.tables.CapturedTable;
import dev.pgkeyset.connect.snapshot.NullKeyCheck;
import dev.pgkeyset.connect.changes.query.ChangeHorizon;

/**
 * Everything about a table that does not change from row to row, worked out once: its topic,
 * partition, schemas and per-column converters. It turns one row's raw values into a record.
 */
public final class TablePlan {

    private static final Logger log = LoggerFactory.getLogger(TablePlan.class);

    /**
     * What an envelope adds to a record (record.format=envelope): its field names, op and times,
     * and a source block of a typical table (names, version, database, times, LSN, txId).
     */
    private static final long ENVELOPE_BYTES = 400;

    /**
     * Header naming the operation: {@code r} snapshot read, {@code u} change, {@code d} delete; from
     * the WAL also {@code c} insert and {@code t} truncate.
     */
    public static final String OP_HEADER = "pgkeyset.op";

    private final CapturedTable table;
    private final PgKeysetConfig config;
    /** The whole table, or the key range this plan reads. */
    private final TableSlice slice;
    /** The table's split in JSON, for the offsets of a key range; null for a whole table. */
    private final String splitJson;
    private final String topic;
    private final Map<String, Object> partition;
    private final ColumnConverter[] converters;
    /** The select list: each column quoted, cast where its converter reads a text form. */
    private final List<String> selectList;
    private final int[] keyIndexes;
    private final Schema keySchema;
    private final Schema valueSchema;
    private final Field[] keyFields;
    private final Field[] valueFields;
    private final String keyColumnsJson;
    private final List<String> keyColumnNames;
    private final List<ColumnInfo> nullableKey;
    /** Index of the tracking column among the columns, -1 when changes are not followed. */
    private final int trackingIndex;
    private final List<String> changeColumnNames;
    private final String changeColumnsJson;
    /** Index of the soft-delete column, -1 when there is none. */
    private final int softDeleteIndex;
    /** The bytes of every record besides its values (see {@link #estimateBytes}). */
    private final long fixedBytes;
    private final RowStructs structs;
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
        this.splitJson = slice.split() == null ? null : slice.split().json();
        TableId id = table.info().id();
        this.topic = config.topicFor(id);
        this.partition = slice.partition();
        List<ColumnInfo> columns = table.info().columns();
        this.converters = new ColumnConverter[columns.size()];
        SchemaBuilder value = SchemaBuilder.struct().name(topic + ".Value").optional();
        // The envelope is read by consumers written for Debezium: its values are Debezium's.
        boolean debeziumValues = config.recordFormat() == RecordFormat.ENVELOPE;
        for (int i = 0; i < columns.size(); i++) {
            ColumnInfo column = columns.get(i);
            converters[i] = Converters.forColumn(id, column, config.numericMapping(), config.timePrecisionMode(),
                    debeziumValues);
            value.field(column.name(), converters[i].schema());
            // A type without a mapping of its own, unless the envelope gives it Debezium's (a named schema).
            if (Converters.isTextFallback(column) && converters[i].schema().name() == null) {
                log.info("Column {}.{} of type {} is carried as its text form", id, column.name(), column.typeName());
            }
        }
        this.valueSchema = value.build();
        List<String> select = new java.util.ArrayList<>(columns.size());
        for (int i = 0; i < columns.size(); i++) {
            select.add(converters[i].selectExpression(Sql.quoteIdentifier(columns.get(i).name())));
        }
        this.selectList = List.copyOf(select);
        this.keyIndexes = new int[table.key().size()];
        SchemaBuilder key = SchemaBuilder.struct().name(topic + ".Key");
        for (int k = 0; k < keyIndexes.length; k++) {
            ColumnInfo keyColumn = table.key().get(k);
            keyIndexes[k] = columns.indexOf(keyColumn);
            // Key fields are never optional: a NULL key value stops the table (see TableReader).
            Schema fieldSchema = converters[keyIndexes[k]].schema();
            key.field(keyColumn.name(), fieldSchema.isOptional() ? RowStructs.required(fieldSchema) : fieldSchema);
        }
        this.keySchema = key.build();
        this.keyFields = keySchema.fields().toArray(Field[]::new);
        this.valueFields = valueSchema.fields().toArray(Field[]::new);
        this.keyColumnNames = table.key().stream().map(ColumnInfo::name).toList();
        this.nullableKey = table.key().stream().filter(c -> !c.notNull()).toList();
        this.keyColumnsJson = OffsetCodec.keyColumnsJson(keyColumnNames);
        this.trackingIndex = table.tracking().map(columns::indexOf).orElse(-1);
        List<String> changeColumns = new java.util.ArrayList<>();
        table.tracking().ifPresent(t -> changeColumns.add(t.name()));
        changeColumns.addAll(keyColumnNames);
        this.changeColumnNames = List.copyOf(changeColumns);
        this.changeColumnsJson = OffsetCodec.keyColumnsJson(changeColumnNames);
        this.softDeleteIndex = table.softDelete().map(columns::indexOf).orElse(-1);
        this.structs = new RowStructs(id, converters, keyIndexes, keySchema, valueSchema);
        this.envelope = config.recordFormat() == RecordFormat.ENVELOPE
                ? new Envelope(topic, valueSchema, new SourceInfo(config.topicPrefix(), database(config), id)) : null;
        this.tombstonesOnDelete = config.tombstonesOnDelete();
        this.fixedBytes = fixedBytes() + (envelope == null ? 0 : ENVELOPE_BYTES);
        if (table.tracking().isPresent() && !table.trackingIndexed()) {
            log.warn("Table {}: no btree index starts with tracking column {}; every change query scans the table. "
                    + "Create one, e.g. CREATE INDEX ON {} ({}, {})", id, table.tracking().get().name(), id.quoted(),
                    dev.pgkeyset.connect.pg.Sql.quoteIdentifier(table.tracking().get().name()),
                    dev.pgkeyset.connect.pg.Sql.quotedList(keyColumnNames));
        }
    }

    /** The database connection.url names (the envelope's source.db), as the driver reads the URL. */
    private static String database(PgKeysetConfig config) {
        java.util.Properties parsed = org.postgresql.Driver.parseURL(config.connectionUrl(), null);
        String name = parsed == null ? null : parsed.getProperty("PGDBNAME");
        return name == null ? "" : name;
    }

    public TableId id() {
        return table.info().id();
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

    /**
     * The plan for the table's columns as they are now (a column added, dropped or retyped).
     * Fails naming the table when it can no longer be read as configured (its key or tracking
     * column gone).
     */
    public TablePlan withColumns(List<ColumnInfo> columns) {
        TableInfo info = table.info();
        CapturedTable.Resolution resolution = CapturedTable.resolve(new TableInfo(info.id(),
                info.kind(), List.copyOf(columns), info.primaryKey(), info.indexLeadingColumns(), info.estimatedRows()),
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
            if (raw[i] == null && column.notNull() && !isKey(i)) {
                if (relaxed == null) {
                    relaxed = new java.util.ArrayList<>(columns);
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

    private boolean isKey(int column) {
        for (int k : keyIndexes) {
            if (k == column) {
                return true;
            }
        }
        return false;
    }

    /** Whether the change phase's tracking column is still the same column of the same type. */
    public boolean sameTracking(TablePlan other) {
        return table.tracking().equals(other.table.tracking());
    }

    public TableSlice slice() {
        return slice;
    }

    /** The rows this plan is expected to read: the table's estimate, shared evenly between its ranges. */
    public long estimatedRows() {
        return slice.split() == null ? table.info().estimatedRows()
                : table.info().estimatedRows() / slice.split().ranges();
    }

    private List<Object> lowerBound() {
        return slice.split() == null ? List.of() : slice.split().lower(slice.range());
    }

    private List<Object> upperBound() {
        return slice.split() == null ? List.of() : slice.split().upper(slice.range());
    }

    public List<String> keyColumnNames() {
        return keyColumnNames;
    }

    /** Columns a change-phase position is expressed in: the tracking column, then the key. */
    public List<String> changeColumnNames() {
        return changeColumnNames;
    }

    public Map<String, Object> partition() {
        return partition;
    }

    public KeysetQuery snapshotQuery(List<Object> after) {
        return KeysetQuery.snapshot(id(), table.info().kind().readWithOnly(), selectList, table.key(), after,
                lowerBound(), upperBound());
    }

    /** The key columns not declared NOT NULL (chosen in key.columns), which {@link NullKeyCheck} looks at. */
    public List<ColumnInfo> nullableKeyColumns() {
        return nullableKey;
    }

    /**
     * Whether this plan's reader looks for NULL keys: only when a key column may be NULL, and only
     * the whole table's reader or its last range's (a NULL sorts after every value), one per table.
     */
    public boolean looksForNullKeys() {
        return !nullableKey.isEmpty() && (slice.split() == null || slice.range() == slice.split().ranges() - 1);
    }

    public KeysetQuery nullKeysQuery() {
        return KeysetQuery.nullKeys(id(), table.info().kind().readWithOnly(), nullableKey);
    }

    public KeysetQuery nullKeysQuery(Object from, ChangeHorizon.Bound horizon) {
        return KeysetQuery.nullKeys(id(), table.info().kind().readWithOnly(), nullableKey,
                table.tracking().orElseThrow(), from, horizon.value(), horizon.inclusive());
    }

    public KeysetQuery changesQuery(List<Object> after, Object from, ChangeHorizon.Bound horizon) {
        return KeysetQuery.changes(id(), table.info().kind().readWithOnly(), selectList,
                table.tracking().orElseThrow(), table.key(), after, from, horizon.value(), horizon.inclusive(),
                lowerBound(), upperBound());
    }

    /** A row's tracking value as epoch milliseconds, for clock columns (wall-clock values read in {@code zone}). */
    public java.util.Optional<Long> trackingEpochMillis(Object[] raw, java.time.ZoneId zone) {
        Object value = trackingIndex < 0 ? null : raw[trackingIndex];
        try {
            if (value instanceof java.time.OffsetDateTime t) {
                return java.util.Optional.of(t.toInstant().toEpochMilli());
            }
            if (value instanceof java.time.LocalDateTime t) {
                return java.util.Optional.of(t.atZone(zone).toInstant().toEpochMilli());
            }
            if (value instanceof java.time.LocalDate d) {
                return java.util.Optional.of(d.atStartOfDay(zone).toInstant().toEpochMilli());
            }
        } catch (ArithmeticException | java.time.DateTimeException infinity) {
            // ±infinity: no lag to speak of
        }
        return java.util.Optional.empty();
    }

    /** A new horizon for this table's tracking column (it may keep state: one per reader). */
    public ChangeHorizon newHorizon() {
        return ChangeHorizon.forColumn(id(), table.info().kind().readWithOnly(), table.tracking().orElseThrow());
    }

    /** Reads the current row's values; never keeps a reference to the result set. */
    public Object[] readRow(java.sql.ResultSet rs) throws java.sql.SQLException {
        Object[] raw = new Object[converters.length];
        for (int i = 0; i < raw.length; i++) {
            raw[i] = converters[i].read(rs, i + 1);
        }
        return raw;
    }

    /**
     * The row's position as offset values: its key, preceded in the change phase by its tracking
     * value. Fails naming the column if a key value is NULL.
     */
    public Object[] position(Object[] raw, boolean changePhase) {
        int shift = changePhase ? 1 : 0;
        Object[] position = new Object[keyIndexes.length + shift];
        if (changePhase) {
            // Never NULL here: the change query's row comparison excludes NULL tracking values.
            position[0] = converters[trackingIndex].toOffset(raw[trackingIndex]);
        }
        for (int k = 0; k < keyIndexes.length; k++) {
            Object value = raw[keyIndexes[k]];
            if (value == null) {
                throw NullKeyCheck.nullKey(id(), keyFields[k].name());
            }
            position[k + shift] = converters[keyIndexes[k]].toOffset(value);
        }
        return position;
    }

    private boolean softDeleted(Object[] raw) {
        if (softDeleteIndex < 0) {
            return false;
        }
        Object marker = raw[softDeleteIndex];
        return marker instanceof Boolean deleted ? deleted : marker != null;
    }

    /**
     * The row's record as a converter will write it ({@link SerializedSize}): key and value, each
     * field's name and value; the key's values count twice, since they are in both.
     */
    public long estimateBytes(Object[] raw) {
        long bytes = fixedBytes;
        for (int i = 0; i < raw.length; i++) {
            bytes += raw[i] == null ? SerializedSize.NULL : converters[i].estimateBytes(raw[i]);
        }
        for (int keyIndex : keyIndexes) {
            bytes += converters[keyIndex].estimateBytes(raw[keyIndex]);
        }
        return bytes;
    }

    /** What every record of this plan takes besides its values: braces, field names, the op header. */
    private long fixedBytes() {
        long bytes = 4 + SerializedSize.utf8(OP_HEADER) + 1;
        for (Field field : valueFields) {
            bytes += SerializedSize.utf8(field.name()) + SerializedSize.FIELD_OVERHEAD;
        }
        for (Field field : keyFields) {
            bytes += SerializedSize.utf8(field.name()) + SerializedSize.FIELD_OVERHEAD;
        }
        return bytes;
    }

    /**
     * The record of one row. A row marked by the soft-delete column becomes a tombstone (null value,
     * op {@code d}); otherwise the op is {@code r} in the snapshot and {@code u} in the change phase.
     */
    public SourceRecord toRecord(Object[] raw, Object[] position, Phase phase, String changesFrom) {
        Struct key = structs.key(raw);
        Map<String, Object> offset = OffsetCodec.recordOffset(phase,
                phase == Phase.INCREMENTAL ? changeColumnsJson : keyColumnsJson, position, changesFrom, splitJson);
        Headers headers = new ConnectHeaders();
        if (softDeleted(raw)) {
            headers.addString(OP_HEADER, "d");
            if (envelope != null) {
                // The row as last read is what was deleted; its tombstone follows (tombstoneFollowing).
                Struct event = envelope.struct(structs.value(raw), null, Envelope.DELETE, readSource(phase), null);
                return new SourceRecord(partition, offset, topic, null, keySchema, key, envelope.schema(), event,
                        null, headers);
            }
            return new SourceRecord(partition, offset, topic, null, keySchema, key, null, null, null, headers);
        }
        Struct value = structs.value(raw);
        String op = phase == Phase.INCREMENTAL ? "u" : "r";
        headers.addString(OP_HEADER, op);
        if (envelope != null) {
            // A query cannot tell an insert from an update, nor show the row before: op u, before null.
            Struct event = envelope.struct(null, value, op, readSource(phase), null);
            return new SourceRecord(partition, offset, topic, null, keySchema, key, envelope.schema(), event, null,
                    headers);
        }
        return new SourceRecord(partition, offset, topic, null, keySchema, key, valueSchema, value, null, headers);
    }

    /** The source of a row read by a query: read now, no transaction or WAL position known. */
    private Struct readSource(Phase phase) {
        SourceInfo.Snapshot snapshot = switch (phase) {
            case SNAPSHOT -> SourceInfo.Snapshot.TRUE;
            // The last row of this plan's range: the table's last only when the table is read whole.
            case SNAPSHOT_COMPLETE -> slice.split() == null ? SourceInfo.Snapshot.LAST_IN_TABLE : SourceInfo.Snapshot.TRUE;
            case INCREMENTAL -> SourceInfo.Snapshot.FALSE;
        };
        java.time.Instant now = java.time.Instant.now();
        return envelope.source().struct(now.getEpochSecond() * 1_000_000L + now.getNano() / 1000, snapshot, null,
                null, null);
    }

    /**
     * In record.format=envelope with tombstones.on.delete, the tombstone that follows a delete
     * event {@code record} of this plan (same key, headers and offset); null for any other record.
     */
    public SourceRecord tombstoneFollowing(SourceRecord record) {
        if (envelope == null || !tombstonesOnDelete || !(record.value() instanceof Struct event)
                || event.schema() != envelope.schema() || !Envelope.DELETE.equals(event.get("op"))) {
            return null;
        }
        return new SourceRecord(record.sourcePartition(), record.sourceOffset(), topic, null, keySchema,
                record.key(), null, null, null, record.headers().duplicate());
    }

    /** Adds a header holding the key of {@code raw} (with the key's schema), as Debezium names a key change's other key. */
    public void addKeyHeader(Headers headers, String name, Object[] raw) {
        headers.add(name, structs.key(raw), keySchema);
    }

    /** Whether a delete in record.format=envelope is followed by a tombstone. */
    public boolean tombstonesAfterDeletes() {
        return envelope != null && tombstonesOnDelete;
    }

    // ---- Change records from raw values (capture.mode=wal) ----

    /**
     * Column {@code column}'s raw value (as {@link #readRow} would read it) from its text form as
     * PostgreSQL's output function writes it, which is what the WAL's text format carries.
     */
    public Object rawFromText(int column, String text) {
        return converters[column].fromText(text);
    }

    /** Index of each key column among the columns, in key order. */
    public int[] keyIndexes() {
        return keyIndexes.clone();
    }

    /** Whether every key column of the row has a value (what {@link #keyValues} checks, without building the key). */
    public boolean hasKeyValues(Object[] raw) {
        for (int keyIndex : keyIndexes) {
            if (raw[keyIndex] == null) {
                return false;
            }
        }
        return true;
    }

    /** The key of a row as offset values (JSON scalars equal for equal keys), or null when a key value is missing. */
    public List<Object> keyValues(Object[] raw) {
        Object[] values = new Object[keyIndexes.length];
        for (int k = 0; k < keyIndexes.length; k++) {
            Object value = raw[keyIndexes[k]];
            if (value == null) {
                return null;
            }
            values[k] = converters[keyIndexes[k]].toOffset(value);
        }
        return java.util.Arrays.asList(values);
    }

    /**
     * Reads the current values of {@code columns} of the rows with the given keys (each as
     * {@link #keyValues} gives it): the key columns come first, then {@code columns}, each read
     * through its converter as the snapshot reads it.
     */
    public KeysetQuery rowsByKeyQuery(int[] columns, List<List<Object>> keys) {
        List<String> select = new java.util.ArrayList<>(keyIndexes.length + columns.length);
        for (int keyIndex : keyIndexes) {
            select.add(selectList.get(keyIndex));
        }
        for (int column : columns) {
            select.add(selectList.get(column));
        }
        return KeysetQuery.byKeys(id(), table.info().kind().readWithOnly(), select, table.key(), keys);
    }

    /** The raw value of {@code column} at position {@code index} of a result set. */
    public Object readColumn(java.sql.ResultSet rs, int column, int index) throws java.sql.SQLException {
        return converters[column].read(rs, index);
    }

    /**
     * A change record of one row's raw values, in a partition and at an offset of the caller's
     * (the WAL stream's): topic, key and value as in the snapshot. {@code tombstone}: a null value
     * (a delete; only the key columns of {@code raw} need values). {@code headers} already carry
     * the operation.
     */
    public SourceRecord toChangeRecord(Object[] raw, boolean tombstone, Map<String, ?> partition,
                                       Map<String, ?> offset, Headers headers) {
        Struct key = structs.key(raw);
        if (tombstone) {
            return new SourceRecord(partition, offset, topic, null, keySchema, key, null, null, null, headers);
        }
        Struct value = structs.value(raw);
        return new SourceRecord(partition, offset, topic, null, keySchema, key, valueSchema, value, null, headers);
    }

    /**
     * A record that stands for the whole table (a TRUNCATE): no key, on the table's topic; no value
     * in record.format=row, an op=t envelope with neither row in record.format=envelope.
     */
    public SourceRecord toTableRecord(Map<String, ?> partition, Map<String, ?> offset, Headers headers,
                                      WalSource source) {
        if (envelope != null) {
            Struct event = envelope.struct(null, null, Envelope.TRUNCATE, walSource(source), source.transaction());
            return new SourceRecord(partition, offset, topic, null, null, null, envelope.schema(), event, null,
                    headers);
        }
        return new SourceRecord(partition, offset, topic, null, null, null, null, null, null, headers);
    }

    /**
     * Where in the WAL a change was read: what its envelope's source says beyond the table, and
     * its transaction block (null unless provide.transaction.metadata).
     */
    public record WalSource(long commitEpochMicros, long txId, long lsn, Struct transaction) {
    }

    private Struct walSource(WalSource source) {
        return envelope.source().struct(source.commitEpochMicros(), SourceInfo.Snapshot.FALSE, source.txId(),
                source.lsn(), null);
    }

    /**
     * The envelope record of a change read from the WAL (record.format=envelope), on a plan that
     * admits the NULLs of both rows ({@link #admittingNulls}). {@code before}: the old row, or only
     * its key columns (REPLICA IDENTITY DEFAULT), or null; {@code after}: the new row, or null for a
     * delete. The key is the new row's, or the old one's for a delete.
     */
    public SourceRecord toEnvelopeRecord(Object[] before, Object[] after, String op, WalSource source,
                                         Map<String, ?> partition, Map<String, ?> offset, Headers headers) {
        Struct key = structs.key(after != null ? after : before);
        Struct event = envelope.struct(before == null ? null : structs.value(before),
                after == null ? null : structs.value(after), op, walSource(source), source.transaction());
        return new SourceRecord(partition, offset, topic, null, keySchema, key, envelope.schema(), event, null,
                headers);
    }
}

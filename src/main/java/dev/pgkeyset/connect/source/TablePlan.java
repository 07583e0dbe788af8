package dev.pgkeyset.connect.source;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.header.ConnectHeaders;
import org.apache.kafka.connect.header.Headers;
import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.offset.OffsetCodec;
import dev.pgkeyset.connect.offset.Phase;
import dev.pgkeyset.connect.offset.TablePartition;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.query.KeysetQuery;
import dev.pgkeyset.connect.schema.ColumnConverter;
import dev.pgkeyset.connect.schema.Converters;

/**
 * Everything about a table that does not change from row to row, worked out once: its topic,
 * partition, schemas and per-column converters. It turns one row's raw values into a record.
 */
final class TablePlan {

    private static final Logger log = LoggerFactory.getLogger(TablePlan.class);

    /** Header naming the operation: {@code r} snapshot read, {@code u} change, {@code d} delete. */
    static final String OP_HEADER = "pgkeyset.op";

    private final CapturedTable table;
    private final String topic;
    private final Map<String, Object> partition;
    private final ColumnConverter[] converters;
    private final int[] keyIndexes;
    private final Schema keySchema;
    private final Schema valueSchema;
    private final Field[] keyFields;
    private final Field[] valueFields;
    private final String keyColumnsJson;
    private final List<String> keyColumnNames;

    TablePlan(CapturedTable table, PgKeysetConfig config) {
        this.table = table;
        TableId id = table.info().id();
        this.topic = config.topicFor(id);
        this.partition = TablePartition.of(id);
        List<ColumnInfo> columns = table.info().columns();
        this.converters = new ColumnConverter[columns.size()];
        SchemaBuilder value = SchemaBuilder.struct().name(topic + ".Value").optional();
        for (int i = 0; i < columns.size(); i++) {
            ColumnInfo column = columns.get(i);
            converters[i] = Converters.forColumn(id, column, config.numericMapping());
            value.field(column.name(), converters[i].schema());
            if (Converters.isTextFallback(column)) {
                log.info("Column {}.{} of type {} is carried as its text form", id, column.name(), column.typeName());
            }
        }
        this.valueSchema = value.build();
        this.keyIndexes = new int[table.key().size()];
        SchemaBuilder key = SchemaBuilder.struct().name(topic + ".Key");
        for (int k = 0; k < keyIndexes.length; k++) {
            ColumnInfo keyColumn = table.key().get(k);
            keyIndexes[k] = columns.indexOf(keyColumn);
            // Key fields are never optional: a NULL key value stops the table (see TableReader).
            Schema fieldSchema = converters[keyIndexes[k]].schema();
            key.field(keyColumn.name(), fieldSchema.isOptional() ? required(fieldSchema) : fieldSchema);
        }
        this.keySchema = key.build();
        this.keyFields = keySchema.fields().toArray(Field[]::new);
        this.valueFields = valueSchema.fields().toArray(Field[]::new);
        this.keyColumnNames = table.key().stream().map(ColumnInfo::name).toList();
        this.keyColumnsJson = OffsetCodec.keyColumnsJson(keyColumnNames);
    }

    private static Schema required(Schema optional) {
        SchemaBuilder builder = new SchemaBuilder(optional.type()).name(optional.name()).version(optional.version());
        if (optional.parameters() != null) {
            builder.parameters(optional.parameters());
        }
        return builder.build();
    }

    TableId id() {
        return table.info().id();
    }

    long estimatedRows() {
        return table.info().estimatedRows();
    }

    List<String> keyColumnNames() {
        return keyColumnNames;
    }

    Map<String, Object> partition() {
        return partition;
    }

    KeysetQuery snapshotQuery(List<Object> after) {
        return KeysetQuery.snapshot(id(), table.info().kind().readWithOnly(), table.info().columns(), table.key(), after);
    }

    /** Reads the current row's values; never keeps a reference to the result set. */
    Object[] readRow(java.sql.ResultSet rs) throws java.sql.SQLException {
        Object[] raw = new Object[converters.length];
        for (int i = 0; i < raw.length; i++) {
            raw[i] = converters[i].read(rs, i + 1);
        }
        return raw;
    }

    /** The row's key as offset values; fails naming the column if a key value is NULL. */
    Object[] keyPosition(Object[] raw) {
        Object[] position = new Object[keyIndexes.length];
        for (int k = 0; k < keyIndexes.length; k++) {
            Object value = raw[keyIndexes[k]];
            if (value == null) {
                throw new org.apache.kafka.connect.errors.ConnectException("Table " + id() + " has a row whose key column '"
                        + keyFields[k].name() + "' is NULL; keyset keys must be unique and non-null "
                        + "(choose other key.columns for this table)");
            }
            position[k] = converters[keyIndexes[k]].toOffset(value);
        }
        return position;
    }

    long estimateBytes(Object[] raw) {
        long bytes = 16;
        for (int i = 0; i < raw.length; i++) {
            bytes += 4 + (raw[i] == null ? 0 : converters[i].estimateBytes(raw[i]));
        }
        return bytes;
    }

    SourceRecord toRecord(Object[] raw, Object[] position, Phase phase) {
        Struct value = new Struct(valueSchema);
        for (int i = 0; i < raw.length; i++) {
            if (raw[i] != null) {
                value.put(valueFields[i], converters[i].toConnect(raw[i]));
            }
        }
        Struct key = new Struct(keySchema);
        for (int k = 0; k < keyIndexes.length; k++) {
            key.put(keyFields[k], value.get(valueFields[keyIndexes[k]]));
        }
        Map<String, Object> offset = new HashMap<>(4);
        offset.put(OffsetCodec.PHASE, phase.wireName());
        offset.put(OffsetCodec.KEY_COLUMNS, keyColumnsJson);
        offset.put(OffsetCodec.KEY, OffsetCodec.keyJson(position));
        Headers headers = new ConnectHeaders().addString(OP_HEADER, "r");
        return new SourceRecord(partition, offset, topic, null, keySchema, key, valueSchema, value, null, headers);
    }
}

package dev.pgkeyset.connect.record;

import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;

import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.schema.ColumnConverter;
import dev.pgkeyset.connect.snapshot.NullKeyCheck;

/**
 * A row's key and value Structs from its raw values, through the plan's converters: the one place
 * that fills them, for the snapshot's and change phase's records and for the WAL's change records
 * alike (so a row read by a query and the same row decoded from the WAL give equal records).
 */
final class RowStructs {

    private final TableId table;
    private final ColumnConverter[] converters;
    private final int[] keyIndexes;
    private final Schema keySchema;
    private final Schema valueSchema;
    private final Field[] keyFields;
    private final Field[] valueFields;

    RowStructs(TableId table, ColumnConverter[] converters, int[] keyIndexes, Schema keySchema, Schema valueSchema) {
        this.table = table;
        this.converters = converters;
        this.keyIndexes = keyIndexes;
        this.keySchema = keySchema;
        this.valueSchema = valueSchema;
        this.keyFields = keySchema.fields().toArray(Field[]::new);
        this.valueFields = valueSchema.fields().toArray(Field[]::new);
    }

    /** A required copy of a field schema (a key field is never optional). */
    static Schema required(Schema optional) {
        SchemaBuilder builder = new SchemaBuilder(optional.type()).name(optional.name()).version(optional.version());
        if (optional.parameters() != null) {
            builder.parameters(optional.parameters());
        }
        return builder.build();
    }

    /** The key of the row; fails naming the table and column when a key value is NULL. */
    Struct key(Object[] raw) {
        Struct key = new Struct(keySchema);
        Object[] keyValues = PrevalidatedStruct.valuesOf(key);
        for (int k = 0; k < keyIndexes.length; k++) {
            Object value = raw[keyIndexes[k]];
            if (value == null) {
                throw NullKeyCheck.nullKey(table, keyFields[k].name());
            }
            PrevalidatedStruct.set(key, keyValues, keyFields, k, converters[keyIndexes[k]].toConnect(value));
        }
        return key;
    }

    /** The value of the row: every column, a NULL one left unset (null). */
    Struct value(Object[] raw) {
        Struct value = new Struct(valueSchema);
        Object[] values = PrevalidatedStruct.valuesOf(value);
        for (int i = 0; i < raw.length; i++) {
            if (raw[i] != null) {
                PrevalidatedStruct.set(value, values, valueFields, i, converters[i].toConnect(raw[i]));
            }
        }
        return value;
    }
}

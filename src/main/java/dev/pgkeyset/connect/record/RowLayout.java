package dev.pgkeyset.connect.record;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.config.RecordFormat;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.Sql;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.schema.ColumnConverter;
import dev.pgkeyset.connect.schema.Converters;
import dev.pgkeyset.connect.tables.CapturedTable;

/**
 * How a table's columns map to a record's fields: one converter per column, the select list that
 * reads them and the key and value schemas, worked out once per plan so that a row only runs its
 * converters. Also the one place that turns a column's value as read (from a result set, or from
 * the WAL's text form) into its raw value, so both capture modes read a value alike.
 */
final class RowLayout {

    /** Logged under TablePlan, which made these decisions before it was split, so log settings still apply. */
    private static final Logger log = LoggerFactory.getLogger(TablePlan.class);

    private final ColumnConverter[] converters;
    /** The select list: each column quoted, cast where its converter reads a text form. */
    private final List<String> selectList;
    private final int[] keyIndexes;
    private final Schema keySchema;
    private final Schema valueSchema;
    private final Field[] keyFields;
    private final Field[] valueFields;

    RowLayout(CapturedTable table, PgKeysetConfig config, String topic) {
        TableId id = table.info().id();
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
        List<String> select = new ArrayList<>(columns.size());
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
    }

    /** The converter of column {@code column} (its index among the table's columns). */
    ColumnConverter converter(int column) {
        return converters[column];
    }

    /** Index of each key column among the columns, in key order; the plan's own array, not to be changed. */
    int[] keyIndexes() {
        return keyIndexes;
    }

    List<String> selectList() {
        return selectList;
    }

    Schema keySchema() {
        return keySchema;
    }

    Schema valueSchema() {
        return valueSchema;
    }

    Field[] keyFields() {
        return keyFields;
    }

    Field[] valueFields() {
        return valueFields;
    }

    /** Fills the key and value Structs of rows in this layout. */
    RowStructs structs(TableId table) {
        return new RowStructs(table, converters, keyIndexes, keySchema, valueSchema);
    }

    /** Reads the current row's values; never keeps a reference to the result set. */
    Object[] readRow(ResultSet rs) throws SQLException {
        Object[] raw = new Object[converters.length];
        for (int i = 0; i < raw.length; i++) {
            raw[i] = converters[i].read(rs, i + 1);
        }
        return raw;
    }

    /** The raw value of {@code column} at position {@code index} of a result set. */
    Object readColumn(ResultSet rs, int column, int index) throws SQLException {
        return converters[column].read(rs, index);
    }

    /** Column {@code column}'s raw value from its text form, as PostgreSQL's output function writes it. */
    Object rawFromText(int column, String text) {
        return converters[column].fromText(text);
    }

    boolean isKey(int column) {
        for (int k : keyIndexes) {
            if (k == column) {
                return true;
            }
        }
        return false;
    }
}

package dev.pgkeyset.connect.schema;

import java.sql.ResultSet;
import java.sql.SQLException;

import org.apache.kafka.connect.data.Schema;

/**
 * Everything the connector does with one column's values, decided once per column (never per
 * row): how to read it from a result set, what it becomes in a Connect record, and — for key
 * columns — how it is written into a source offset exactly enough to resume between two keys.
 */
public interface ColumnConverter {

    /** The Connect schema of this column's field (optional when the column is nullable). */
    Schema schema();

    /**
     * What the query selects for this column, given its quoted name: the name itself, or a cast
     * where the text form is the exact one (arrays, intervals, network and geometric types).
     */
    String selectExpression(String quotedColumn);

    /** The exact value from the current row, or null for SQL NULL. */
    Object read(ResultSet rs, int index) throws SQLException;

    /** The raw value (as {@link #read} returns it) from PostgreSQL's text form, e.g. an array element. */
    Object fromText(String text);

    /** The value as it goes into the record's Struct. {@code raw} is never null. */
    Object toConnect(Object raw);

    /**
     * The value as it goes into a source offset: a JSON number, boolean or string that PostgreSQL
     * casts back to exactly the same value ({@code CAST(? AS <column type>)}). {@code raw} is never null.
     */
    Object toOffset(Object raw);

    /** The value's size in a serialized record ({@link SerializedSize}), for {@code batch.max.bytes}. */
    int estimateBytes(Object raw);
}

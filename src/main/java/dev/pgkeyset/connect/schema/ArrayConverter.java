package dev.pgkeyset.connect.schema;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.errors.DataException;

/**
 * An array column: a Connect ARRAY nested once per declared dimension ({@code integer[][]} is an
 * array of arrays of INT32), its elements converted by the element type's converter, NULL
 * elements kept as null.
 *
 * <p>The column is selected as text ({@code array_out}) and parsed here: that form is exact for
 * every element type, and it is also the raw value, so an array key's offset casts straight back.
 * PostgreSQL does not enforce declared dimensions; a value with other dimensions than declared
 * stops the table with an error naming the column, rather than being flattened or cut.
 */
final class ArrayConverter implements ColumnConverter {

    private final String where;
    private final ColumnConverter element;
    private final int dimensions;
    private final char delimiter;
    private final Schema schema;
    private final String elementsAs;

    /**
     * @param elementsAs the array type to select the column as before its text form (money[] is
     *                   read as numeric[], without currency symbols), or null
     */
    ArrayConverter(String where, ColumnConverter element, int dimensions, boolean optional, char delimiter,
                   String elementsAs) {
        this.where = where;
        this.element = element;
        this.dimensions = dimensions;
        this.delimiter = delimiter;
        Schema nested = element.schema();
        for (int d = 0; d < dimensions; d++) {
            SchemaBuilder array = SchemaBuilder.array(nested);
            nested = (d < dimensions - 1 || optional ? array.optional() : array).build();
        }
        this.schema = nested;
        this.elementsAs = elementsAs;
    }

    @Override
    public Schema schema() {
        return schema;
    }

    @Override
    public String selectExpression(String quotedColumn) {
        return quotedColumn + (elementsAs == null ? "" : "::" + elementsAs) + "::" + Converters.TEXT;
    }

    @Override
    public Object read(ResultSet rs, int index) throws SQLException {
        return rs.getString(index);
    }

    @Override
    public Object fromText(String text) {
        return text;
    }

    @Override
    public Object toConnect(Object raw) {
        ArrayLiteral.Parsed parsed;
        try {
            parsed = ArrayLiteral.parse((String) raw, delimiter);
        } catch (IllegalArgumentException e) {
            throw new DataException("Column " + where + ": " + e.getMessage(), e);
        }
        if (parsed.dimensions() != 0 && parsed.dimensions() != dimensions) {
            throw new DataException("Column " + where + " is declared with " + dimensions + " array dimension(s) "
                    + "but holds a value with " + parsed.dimensions() + " (PostgreSQL does not enforce the "
                    + "declaration). Declare the dimensions the data has (ALTER TABLE … ALTER COLUMN … TYPE <element type>"
                    + "[]".repeat(parsed.dimensions()) + ") so the field's schema can hold it.");
        }
        return convert(parsed.elements());
    }

    private List<Object> convert(List<Object> items) {
        List<Object> out = new ArrayList<>(items.size());
        for (Object item : items) {
            if (item == null) {
                out.add(null);
            } else if (item instanceof List<?> nested) {
                @SuppressWarnings("unchecked")
                List<Object> inner = (List<Object>) nested;
                out.add(convert(inner));
            } else {
                out.add(element(item));
            }
        }
        return out;
    }

    private Object element(Object text) {
        try {
            return element.toConnect(element.fromText((String) text));
        } catch (DataException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new DataException("Column " + where + ": cannot read array element '" + text + "': " + e, e);
        }
    }

    @Override
    public Object toOffset(Object raw) {
        return raw;
    }

    @Override
    public int estimateBytes(Object raw) {
        return SerializedSize.jsonArray((String) raw, delimiter);
    }
}

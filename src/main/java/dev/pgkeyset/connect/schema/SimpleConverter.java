package dev.pgkeyset.connect.schema;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.function.Function;
import java.util.function.ToIntFunction;

import org.apache.kafka.connect.data.Schema;

/** A converter assembled from small functions; enough for every type that needs no state. */
final class SimpleConverter implements ColumnConverter {

    @FunctionalInterface
    interface Reader {
        Object read(ResultSet rs, int index) throws SQLException;
    }

    private final Schema schema;
    private final Reader reader;
    private final Function<Object, Object> toConnect;
    private final Function<Object, Object> toOffset;
    private final ToIntFunction<Object> size;
    private final Function<String, Object> fromText;
    private final String castTo;
    /** Most types go into the record as read; skipping the call keeps the per-value path monomorphic. */
    private final boolean identity;

    SimpleConverter(Schema schema, Reader reader, Function<Object, Object> toConnect,
                    Function<Object, Object> toOffset, ToIntFunction<Object> size) {
        this(schema, reader, toConnect, toOffset, size, null, null);
    }

    /**
     * @param fromText the raw value from PostgreSQL's text form (as array elements come), or null
     *                 when this converter is never an element's
     * @param castTo   the type the column is selected as ({@code "col"::text}), or null for as declared
     */
    SimpleConverter(Schema schema, Reader reader, Function<Object, Object> toConnect,
                    Function<Object, Object> toOffset, ToIntFunction<Object> size,
                    Function<String, Object> fromText, String castTo) {
        this.schema = schema;
        this.reader = reader;
        this.toConnect = toConnect;
        this.toOffset = toOffset;
        this.size = size;
        this.fromText = fromText;
        this.castTo = castTo;
        this.identity = toConnect == IDENTITY;
    }

    /** The same conversions with a text parser and a select cast. */
    SimpleConverter with(Function<String, Object> fromText, String castTo) {
        return new SimpleConverter(schema, reader, toConnect, toOffset, size, fromText, castTo);
    }

    /** The conversion of values that go into the record exactly as JDBC returns them. */
    static final Function<Object, Object> IDENTITY = v -> v;

    @Override
    public Schema schema() {
        return schema;
    }

    @Override
    public String selectExpression(String quotedColumn) {
        return castTo == null ? quotedColumn : quotedColumn + "::" + castTo;
    }

    @Override
    public Object read(ResultSet rs, int index) throws SQLException {
        return reader.read(rs, index);
    }

    @Override
    public Object fromText(String text) {
        if (fromText == null) {
            throw new UnsupportedOperationException("no text parser for " + schema);
        }
        return fromText.apply(text);
    }

    @Override
    public Object toConnect(Object raw) {
        return identity ? raw : toConnect.apply(raw);
    }

    @Override
    public Object toOffset(Object raw) {
        return toOffset.apply(raw);
    }

    @Override
    public int estimateBytes(Object raw) {
        return size.applyAsInt(raw);
    }
}

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
    /** Most types go into the record as read; skipping the call keeps the per-value path monomorphic. */
    private final boolean identity;

    SimpleConverter(Schema schema, Reader reader, Function<Object, Object> toConnect,
                    Function<Object, Object> toOffset, ToIntFunction<Object> size) {
        this.schema = schema;
        this.reader = reader;
        this.toConnect = toConnect;
        this.toOffset = toOffset;
        this.size = size;
        this.identity = toConnect == IDENTITY;
    }

    /** The conversion of values that go into the record exactly as JDBC returns them. */
    static final Function<Object, Object> IDENTITY = v -> v;

    @Override
    public Schema schema() {
        return schema;
    }

    @Override
    public Object read(ResultSet rs, int index) throws SQLException {
        return reader.read(rs, index);
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

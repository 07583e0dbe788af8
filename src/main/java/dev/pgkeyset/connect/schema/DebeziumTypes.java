package dev.pgkeyset.connect.schema;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.BitSet;
import java.util.Map;

import org.apache.kafka.connect.data.Decimal;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.DataException;
import org.postgresql.util.HStoreConverter;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

import dev.pgkeyset.connect.config.NumericMapping;
import dev.pgkeyset.connect.pg.PgType;

/**
 * The types other than dates and times (see {@link DebeziumTemporals}) whose fields Debezium's
 * PostgreSQL connector writes in a form of its own under its defaults
 * ({@code decimal.handling.mode=precise}, {@code interval.handling.mode=numeric},
 * {@code hstore.handling.mode=json}), for {@code record.format=envelope}: a consumer written for
 * Debezium reads the same schema names, types and values. Each form was compared with Debezium
 * 3.7's own in DebeziumSideBySideIT. The raw value (what a query or the WAL gives, and what an
 * offset holds) is the one of the {@code row} format, so the record format never changes where a
 * connector resumes; only the field's schema and value differ.
 *
 * <p>Applies to a column's own type, not to array elements, which keep the {@code row} mapping.
 */
final class DebeziumTypes {

    static final String JSON = "io.debezium.data.Json";
    static final String UUID = "io.debezium.data.Uuid";
    static final String XML = "io.debezium.data.Xml";
    static final String ENUM = "io.debezium.data.Enum";
    static final String LTREE = "io.debezium.data.Ltree";
    static final String BITS = "io.debezium.data.Bits";
    static final String MICRO_DURATION = "io.debezium.time.MicroDuration";
    static final String VARIABLE_SCALE_DECIMAL = "io.debezium.data.VariableScaleDecimal";
    static final String POINT = "io.debezium.data.geometry.Point";

    /** Debezium's approximation of a month in an interval: 365.25 / 12 days. */
    static final double DAYS_PER_MONTH = 30.4375;
    /** A varbit declared without a length: Debezium's {@code length} parameter is then Integer.MAX_VALUE. */
    private static final int UNBOUNDED_BITS = Integer.MAX_VALUE;

    private static final JsonFactory JSON_FACTORY = new JsonFactory();

    private DebeziumTypes() {
    }

    /**
     * The converter of a (non-array) type whose Debezium form differs from this connector's own,
     * or null when the {@code row} mapping is already Debezium's.
     */
    static ColumnConverter forType(String where, PgType type, boolean optional, NumericMapping numericMapping) {
        if (type.typtype() == 'e') {
            return textForm(build(named(SchemaBuilder.string(), ENUM)
                    .parameter("allowed", String.join(",", type.labels())), optional), v -> v);
        }
        if ("hstore".equals(type.name())) {
            return textForm(build(named(SchemaBuilder.string(), JSON), optional), v -> hstoreJson((String) v));
        }
        if ("ltree".equals(type.name())) {
            return textForm(build(named(SchemaBuilder.string(), LTREE), optional), v -> v);
        }
        switch (type.oid()) {
            case PgTypes.JSON:
            case PgTypes.JSONB:
                return text(named(SchemaBuilder.string(), JSON), optional);
            case PgTypes.UUID:
                return text(named(SchemaBuilder.string(), UUID), optional);
            case PgTypes.XML:
                return text(named(SchemaBuilder.string(), XML), optional);
            case PgTypes.INTERVAL:
                return new SimpleConverter(build(named(SchemaBuilder.int64(), MICRO_DURATION), optional),
                        (rs, i) -> rs.getString(i), v -> intervalMicros((String) v), v -> v,
                        v -> SerializedSize.INT64, t -> t, Converters.TEXT);
            case PgTypes.BIT:
            case PgTypes.VARBIT:
                return bits(type.typmod(), optional);
            case PgTypes.POINT:
                Schema point = optional ? OPTIONAL_POINT : REQUIRED_POINT;
                return textForm(point, v -> point(point, (String) v));
            case PgTypes.NUMERIC:
                return numericMapping == NumericMapping.PRECISE ? numeric(where, type.typmod()) : null;
            default:
                return null;
        }
    }

    /**
     * {@code bit(1)} is a BOOLEAN; other bit strings are Debezium's {@code Bits}: the bits as one
     * unsigned number, its bytes little-endian and as few as hold it (all zeros give no byte), with
     * the declared length as a parameter.
     */
    private static SimpleConverter bits(int length, boolean optional) {
        if (length == 1) {
            return textFormOf(build(SchemaBuilder.bool(), optional), v -> "1".equals(v), SerializedSize.BOOLEAN);
        }
        Schema schema = build(named(SchemaBuilder.bytes(), BITS)
                .parameter("length", Integer.toString(length < 0 ? UNBOUNDED_BITS : length)), optional);
        return textFormOf(schema, v -> bitBytes((String) v), 0);
    }

    /** A bit string ({@code 1011}) as little-endian bytes of its value, its last character the lowest bit. */
    static byte[] bitBytes(String bitString) {
        int n = bitString.length();
        BitSet bits = new BitSet(n);
        for (int i = 0; i < n; i++) {
            if (bitString.charAt(n - 1 - i) == '1') {
                bits.set(i);
            }
        }
        return bits.toByteArray();
    }

    /**
     * An ISO 8601 interval as PostgreSQL writes it under {@code IntervalStyle=iso_8601}
     * ({@code P1Y2M3DT4H5M6.789S}, each part with its own sign) in microseconds, a month counted as
     * {@link #DAYS_PER_MONTH} days, computed in floating point in the order Debezium 3.7 does, so
     * that even the values a double rounds come out the same.
     */
    static long intervalMicros(String iso) {
        if (iso.isEmpty() || iso.charAt(0) != 'P') {
            throw new DataException("interval value not in ISO 8601 form (IntervalStyle=iso_8601): " + iso);
        }
        int years = 0, months = 0, days = 0, hours = 0, minutes = 0;
        double seconds = 0;
        boolean time = false;
        int i = 1;
        while (i < iso.length()) {
            if (iso.charAt(i) == 'T') {
                time = true;
                i++;
                continue;
            }
            int start = i;
            while (i < iso.length() && "-+0123456789.".indexOf(iso.charAt(i)) >= 0) {
                i++;
            }
            if (i == start || i == iso.length()) {
                throw new DataException("interval value not in ISO 8601 form: " + iso);
            }
            String number = iso.substring(start, i);
            char unit = iso.charAt(i++);
            if (time && unit == 'S') {
                seconds = seconds(number);
            } else {
                int value = Integer.parseInt(number);
                switch (time ? Character.toLowerCase(unit) : unit) {
                    case 'Y' -> years = value;
                    case 'M' -> months = value;
                    case 'D' -> days = value;
                    case 'h' -> hours = value;
                    case 'm' -> minutes = value;
                    default -> throw new DataException("interval value not in ISO 8601 form: " + iso);
                }
            }
        }
        double totalDays = (years * 12 + months) * DAYS_PER_MONTH + days;
        double totalSeconds = ((totalDays * 24.0 + hours) * 60.0 + minutes) * 60.0 + seconds;
        return (long) (totalSeconds * 1_000_000.0 + 0);
    }

    /**
     * Seconds with up to 6 fraction digits as pgjdbc's PGInterval gives them to Debezium: whole
     * seconds plus microseconds / 1e6 (both with the part's sign), not the text parsed as a double.
     */
    private static double seconds(String text) {
        BigDecimal value = new BigDecimal(text);
        int whole = value.intValue();
        int micros = value.subtract(BigDecimal.valueOf(whole)).movePointRight(6).intValue();
        return whole + micros / 1_000_000.0;
    }

    /**
     * numeric: with a declared scale, Connect's Decimal with Debezium's precision parameter; without
     * one, Debezium's VariableScaleDecimal ({@code scale}, {@code value}: the unscaled value's
     * two's-complement bytes), trailing zeros stripped as Debezium strips them ({@code 123.4500} is
     * scale 2, value 12345; {@code 1E+3} is scale 0, value 1000). NaN and ±Infinity have no form
     * in either and are null, as in Debezium; both fields are therefore optional.
     */
    private static SimpleConverter numeric(String where, int typmod) {
        int scale = Converters.numericScale(typmod);
        SimpleConverter.Reader reader = (rs, i) -> rs.getString(i);
        if (scale >= 0) {
            int precision = ((typmod - 4) >> 16) & 0xffff;
            Schema schema = Decimal.builder(scale).parameter("connect.decimal.precision", Integer.toString(precision))
                    .optional().build();
            return new SimpleConverter(schema, reader, v -> Converters.decimal(where, (String) v, scale), v -> v,
                    v -> SerializedSize.jsonDecimal((String) v), t -> t, Converters.TEXT);
        }
        Schema schema = SchemaBuilder.struct().name(VARIABLE_SCALE_DECIMAL).version(1).doc("Variable scaled decimal")
                .field("scale", Schema.INT32_SCHEMA).field("value", Schema.BYTES_SCHEMA).optional().build();
        return new SimpleConverter(schema, reader, v -> variableScale(where, schema, (String) v), v -> v,
                v -> SerializedSize.jsonDecimal((String) v) + 2 * SerializedSize.FIELD_OVERHEAD, t -> t, Converters.TEXT);
    }

    private static Struct variableScale(String where, Schema schema, String text) {
        if (Converters.isSpecialNumeric(text)) {
            Converters.warnSpecialNumeric(where, text);
            return null;
        }
        BigDecimal value = new BigDecimal(text).stripTrailingZeros();
        if (value.scale() < 0) {
            value = value.setScale(0);
        }
        return new Struct(schema).put("scale", value.scale()).put("value", value.unscaledValue().toByteArray());
    }

    /** Debezium's Point: x, y, the point as little-endian WKB, and no SRID (PostgreSQL's point has none). */
    private static final Schema OPTIONAL_POINT = pointSchema(true), REQUIRED_POINT = pointSchema(false);

    private static Schema pointSchema(boolean optional) {
        SchemaBuilder builder = SchemaBuilder.struct().name(POINT).version(1).doc("Geometry (POINT)")
                .field("x", Schema.FLOAT64_SCHEMA).field("y", Schema.FLOAT64_SCHEMA)
                .field("wkb", Schema.OPTIONAL_BYTES_SCHEMA).field("srid", Schema.OPTIONAL_INT32_SCHEMA);
        return optional ? builder.optional().build() : builder.build();
    }

    /** A point's text {@code (1.5,-2)}. */
    private static Struct point(Schema schema, String text) {
        int comma = text.indexOf(',');
        if (!text.startsWith("(") || !text.endsWith(")") || comma < 0) {
            throw new DataException("point value not in PostgreSQL's form (x,y): " + text);
        }
        double x = Double.parseDouble(text.substring(1, comma));
        double y = Double.parseDouble(text.substring(comma + 1, text.length() - 1));
        byte[] wkb = ByteBuffer.allocate(21).order(ByteOrder.LITTLE_ENDIAN)
                .put((byte) 1) // little-endian
                .putInt(1) // WKB geometry type 1: point
                .putDouble(x).putDouble(y).array();
        return new Struct(schema).put("x", x).put("y", y).put("wkb", wkb);
    }

    /**
     * hstore's text as the JSON object Debezium's {@code hstore.handling.mode=json} writes: read into
     * a map by pgjdbc's HStoreConverter and written in that map's order, as Debezium does, so that
     * even the order of the keys is the same; NULL values are JSON null.
     */
    static String hstoreJson(String text) {
        Map<String, String> map = HStoreConverter.fromString(text);
        StringWriter out = new StringWriter();
        try (JsonGenerator json = JSON_FACTORY.createGenerator(out)) {
            json.writeStartObject();
            for (Map.Entry<String, String> entry : map.entrySet()) {
                json.writeStringField(entry.getKey(), entry.getValue());
            }
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    private static SchemaBuilder named(SchemaBuilder builder, String name) {
        return builder.name(name).version(1);
    }

    /** A string read with getString (its text is already PostgreSQL's own). */
    private static SimpleConverter text(SchemaBuilder schema, boolean optional) {
        return new SimpleConverter(build(schema, optional), (rs, i) -> rs.getString(i), SimpleConverter.IDENTITY,
                v -> v, v -> SerializedSize.jsonString((String) v), t -> t, null);
    }

    /** Selected as text; the field's value made from that text. */
    private static SimpleConverter textForm(Schema schema, java.util.function.Function<Object, Object> toConnect) {
        return new SimpleConverter(schema, (rs, i) -> rs.getString(i), toConnect, v -> v,
                v -> SerializedSize.jsonString((String) v), t -> t, Converters.TEXT);
    }

    /** Selected as text, a value of a fixed size (0: the text's own). */
    private static SimpleConverter textFormOf(Schema schema, java.util.function.Function<Object, Object> toConnect,
                                              int size) {
        return new SimpleConverter(schema, (rs, i) -> rs.getString(i), toConnect, v -> v,
                size > 0 ? v -> size : v -> SerializedSize.jsonBinary(((String) v).length() / 8 + 1),
                t -> t, Converters.TEXT);
    }

    private static Schema build(SchemaBuilder builder, boolean optional) {
        return optional ? builder.optional().build() : builder.build();
    }
}

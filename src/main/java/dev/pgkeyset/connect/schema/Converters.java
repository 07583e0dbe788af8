package dev.pgkeyset.connect.schema;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.util.HexFormat;
import java.util.function.Function;

import org.apache.kafka.connect.data.Date;
import org.apache.kafka.connect.data.Decimal;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Time;
import org.apache.kafka.connect.data.Timestamp;
import org.apache.kafka.connect.errors.DataException;

import dev.pgkeyset.connect.config.NumericMapping;
import dev.pgkeyset.connect.config.TimePrecisionMode;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.TableId;

/**
 * Chooses the converter of a column from its type. Types without a dedicated mapping travel as
 * their PostgreSQL text form (a STRING field), so an unexpected type never stops a table.
 */
public final class Converters {

    private static final long MILLIS_PER_DAY = 86_400_000L;
    private static final HexFormat HEX = HexFormat.of();

    private Converters() {
    }

    public static ColumnConverter forColumn(TableId table, ColumnInfo column, NumericMapping numericMapping) {
        return forColumn(table, column, numericMapping, TimePrecisionMode.CONNECT);
    }

    public static ColumnConverter forColumn(TableId table, ColumnInfo column, NumericMapping numericMapping,
                                            TimePrecisionMode timePrecision) {
        boolean optional = !column.notNull();
        String where = table.canonical() + "." + column.name();
        switch (column.typeOid()) {
            case PgTypes.INT2:
                return fixed(SchemaBuilder.int16(), optional, 2, (rs, i) -> {
                    short v = rs.getShort(i);
                    return rs.wasNull() ? null : v;
                }, v -> ((Short) v).longValue());
            case PgTypes.INT4:
                return fixed(SchemaBuilder.int32(), optional, 4, (rs, i) -> {
                    int v = rs.getInt(i);
                    return rs.wasNull() ? null : v;
                }, v -> ((Integer) v).longValue());
            case PgTypes.INT8:
            case PgTypes.OID:
                return fixed(SchemaBuilder.int64(), optional, 8, (rs, i) -> {
                    long v = rs.getLong(i);
                    return rs.wasNull() ? null : v;
                }, v -> v);
            case PgTypes.FLOAT4:
                return fixed(SchemaBuilder.float32(), optional, 4, (rs, i) -> {
                    float v = rs.getFloat(i);
                    return rs.wasNull() ? null : v;
                }, Object::toString);
            case PgTypes.FLOAT8:
                return fixed(SchemaBuilder.float64(), optional, 8, (rs, i) -> {
                    double v = rs.getDouble(i);
                    return rs.wasNull() ? null : v;
                }, Object::toString);
            case PgTypes.BOOL:
                return fixed(SchemaBuilder.bool(), optional, 1, (rs, i) -> {
                    boolean v = rs.getBoolean(i);
                    return rs.wasNull() ? null : v;
                }, v -> v);
            case PgTypes.TEXT:
            case PgTypes.VARCHAR:
            case PgTypes.BPCHAR:
            case PgTypes.NAME:
            case PgTypes.CHAR:
            case PgTypes.UUID:
                return text(optional);
            case PgTypes.BYTEA:
                return new SimpleConverter(build(SchemaBuilder.bytes(), optional), (rs, i) -> rs.getBytes(i),
                        SimpleConverter.IDENTITY, v -> "\\x" + HEX.formatHex((byte[]) v), v -> ((byte[]) v).length);
            case PgTypes.NUMERIC:
                return numeric(where, column, optional, numericMapping);
            case PgTypes.DATE:
                return temporal(Date.builder(), optional, timePrecision, (rs, i) -> rs.getObject(i, LocalDate.class),
                        v -> new java.util.Date(Temporals.epochDays((LocalDate) v) * MILLIS_PER_DAY),
                        null, v -> Temporals.pgText((LocalDate) v));
            case PgTypes.TIME:
                return temporal(Time.builder(), optional, timePrecision, (rs, i) -> rs.getObject(i, LocalTime.class),
                        v -> new java.util.Date(Temporals.millisOfDay((LocalTime) v)),
                        v -> Temporals.microsOfDay((LocalTime) v), v -> Temporals.pgText((LocalTime) v));
            case PgTypes.TIMESTAMP:
                return temporal(Timestamp.builder(), optional, timePrecision,
                        (rs, i) -> rs.getObject(i, LocalDateTime.class),
                        v -> new java.util.Date(Temporals.epochMillis(Temporals.instant((LocalDateTime) v))),
                        v -> Temporals.epochMicros(Temporals.instant((LocalDateTime) v)),
                        v -> Temporals.pgText((LocalDateTime) v));
            case PgTypes.TIMESTAMPTZ:
                return temporal(Timestamp.builder(), optional, timePrecision,
                        (rs, i) -> rs.getObject(i, OffsetDateTime.class),
                        v -> new java.util.Date(Temporals.epochMillis(Temporals.instant((OffsetDateTime) v))),
                        v -> Temporals.epochMicros(Temporals.instant((OffsetDateTime) v)),
                        v -> Temporals.pgText((OffsetDateTime) v));
            default:
                return text(optional);
        }
    }

    /** True when the column travels as its text form because no dedicated mapping exists (yet). */
    public static boolean isTextFallback(ColumnInfo column) {
        return switch (column.typeOid()) {
            case PgTypes.INT2, PgTypes.INT4, PgTypes.INT8, PgTypes.OID, PgTypes.FLOAT4, PgTypes.FLOAT8,
                 PgTypes.BOOL, PgTypes.TEXT, PgTypes.VARCHAR, PgTypes.BPCHAR, PgTypes.NAME, PgTypes.CHAR,
                 PgTypes.UUID, PgTypes.BYTEA, PgTypes.NUMERIC, PgTypes.DATE, PgTypes.TIME, PgTypes.TIMESTAMP,
                 PgTypes.TIMESTAMPTZ -> false;
            default -> true;
        };
    }

    /** Schema names of the microsecond representations (INT64). */
    public static final String MICRO_TIMESTAMP = "dev.pgkeyset.time.MicroTimestamp";
    public static final String MICRO_TIME = "dev.pgkeyset.time.MicroTime";

    /**
     * A date/time column under {@code time.precision.mode}. Offsets always use PostgreSQL's text
     * form ({@code pgText}), whatever the value mode. Dates have no sub-day part: only {@code string}
     * changes them.
     *
     * @param micros null for dates
     */
    private static ColumnConverter temporal(SchemaBuilder connectType, boolean optional, TimePrecisionMode mode,
                                            SimpleConverter.Reader reader, Function<Object, Object> connect,
                                            Function<Object, Object> micros, Function<Object, Object> pgText) {
        return switch (mode) {
            case CONNECT -> new SimpleConverter(build(connectType, optional), reader, connect, pgText, v -> 8);
            case MICROS -> micros == null
                    ? new SimpleConverter(build(connectType, optional), reader, connect, pgText, v -> 8)
                    : new SimpleConverter(build(SchemaBuilder.int64().name(
                            Timestamp.LOGICAL_NAME.equals(connectType.name()) ? MICRO_TIMESTAMP : MICRO_TIME)
                            .version(1), optional), reader, micros, pgText, v -> 8);
            case STRING -> new SimpleConverter(build(SchemaBuilder.string(), optional), reader, pgText, pgText,
                    v -> 32);
        };
    }

    private static ColumnConverter text(boolean optional) {
        return new SimpleConverter(build(SchemaBuilder.string(), optional), (rs, i) -> rs.getString(i),
                SimpleConverter.IDENTITY, v -> v, v -> ((String) v).length());
    }

    private static ColumnConverter fixed(SchemaBuilder builder, boolean optional, int size,
                                         SimpleConverter.Reader reader, Function<Object, Object> toOffset) {
        return new SimpleConverter(build(builder, optional), reader, SimpleConverter.IDENTITY, toOffset, v -> size);
    }

    private static ColumnConverter fixed(SchemaBuilder builder, boolean optional, int size,
                                         SimpleConverter.Reader reader,
                                         Function<Object, Object> toConnect,
                                         Function<Object, Object> toOffset) {
        return new SimpleConverter(build(builder, optional), reader, toConnect, toOffset, v -> size);
    }

    /**
     * numeric is read as text: exact, and the only form that also carries {@code NaN} and
     * {@code ±Infinity}. The raw value (and the offset) is that text.
     */
    private static ColumnConverter numeric(String where, ColumnInfo column, boolean optional, NumericMapping mapping) {
        SimpleConverter.Reader reader = (rs, i) -> rs.getString(i);
        int scale = numericScale(column.typmod());
        return switch (mapping) {
            case DOUBLE -> new SimpleConverter(build(SchemaBuilder.float64(), optional), reader,
                    v -> Double.parseDouble((String) v), v -> v, v -> 8);
            case STRING -> new SimpleConverter(build(SchemaBuilder.string(), optional), reader,
                    SimpleConverter.IDENTITY, v -> v, v -> ((String) v).length());
            case PRECISE -> scale < 0
                    // Unconstrained numeric: every value may have its own scale, which a Connect
                    // Decimal (one scale per schema) cannot hold; the exact text can.
                    ? new SimpleConverter(build(SchemaBuilder.string(), optional), reader,
                            SimpleConverter.IDENTITY, v -> v, v -> ((String) v).length())
                    // Always optional: NaN and ±Infinity have no Decimal form and travel as null.
                    : new SimpleConverter(build(Decimal.builder(scale), true), reader,
                            v -> decimal(where, (String) v, scale), v -> v, v -> ((String) v).length());
        };
    }

    /** numeric's typmod packs precision and scale as {@code ((precision << 16) | scale) + 4}; -1 means none. */
    static int numericScale(int typmod) {
        if (typmod < 4) {
            return -1;
        }
        int scale = (typmod - 4) & 0x7ff;
        // PostgreSQL 15 allows negative scales (stored as 11-bit two's complement); a Connect Decimal
        // with a negative scale is legal, but many sinks reject it: treat those as unconstrained.
        return scale > 1000 ? -1 : scale;
    }

    private static BigDecimal decimal(String where, String text, int scale) {
        char first = text.charAt(0);
        if (first == 'N' || first == 'I' || (first == '-' && text.charAt(1) == 'I')) {
            if (WARNED.add(where)) {
                log.warn("Column {} holds {}, which a Connect Decimal cannot represent: sent as null (logged once per "
                        + "column; numeric.mapping=string keeps such values)", where, text);
            }
            return null;
        }
        try {
            return new BigDecimal(text).setScale(scale, RoundingMode.UNNECESSARY);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new DataException("Column " + where + " holds the numeric value '" + text
                    + "', which does not fit its declared scale " + scale);
        }
    }

    /** Columns already warned about for values without a Decimal form. */
    private static final java.util.Set<String> WARNED = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Converters.class);

    private static Schema build(SchemaBuilder builder, boolean optional) {
        return optional ? builder.optional().build() : builder.build();
    }
}

package dev.pgkeyset.connect.schema;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.util.HexFormat;
import java.util.Set;
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
import dev.pgkeyset.connect.pg.PgType;
import dev.pgkeyset.connect.pg.TableId;

/**
 * Chooses the converter of a column from its type. Types without a dedicated mapping travel as
 * their PostgreSQL text form (a STRING field), so an unexpected type never stops a table.
 */
public final class Converters {

    private static final long MILLIS_PER_DAY = 86_400_000L;

    /**
     * The type of every cast to a text form, qualified: a bare {@code text} is looked up through the
     * session's search_path, where a schema named before pg_catalog ({@code public, pg_catalog}) may
     * hold a type of that name, e.g. a domain over varchar(3), which would cut every value silently.
     */
    static final String TEXT = "pg_catalog.text";
    private static final HexFormat HEX = HexFormat.of();

    private Converters() {
    }

    public static ColumnConverter forColumn(TableId table, ColumnInfo column, NumericMapping numericMapping) {
        return forColumn(table, column, numericMapping, TimePrecisionMode.CONNECT);
    }

    public static ColumnConverter forColumn(TableId table, ColumnInfo column, NumericMapping numericMapping,
                                            TimePrecisionMode timePrecision) {
        return forColumn(table, column, numericMapping, timePrecision, false);
    }

    /**
     * @param debezium values as Debezium's PostgreSQL connector writes them (record.format=envelope):
     *                 dates and times as its adaptive mode does, whatever {@code timePrecision}
     *                 says, and the column types of {@link DebeziumTypes} (not array elements) in
     *                 Debezium's form
     */
    public static ColumnConverter forColumn(TableId table, ColumnInfo column, NumericMapping numericMapping,
                                            TimePrecisionMode timePrecision, boolean debezium) {
        String where = table.canonical() + "." + column.name();
        PgType type = column.type();
        if (type.isArray()) {
            // Elements may be NULL whatever the column says: their schema is always optional.
            ColumnConverter element = forType(where, type.element(), true, numericMapping, timePrecision,
                    debezium);
            return new ArrayConverter(where, element, Math.max(1, column.dimensions()), !column.notNull(),
                    type.element().oid() == PgTypes.BOX ? ';' : ',',
                    type.element().oid() == PgTypes.MONEY ? "pg_catalog.numeric[]" : null);
        }
        if (debezium) {
            ColumnConverter own = DebeziumTypes.forType(where, type, !column.notNull(), numericMapping);
            if (own != null) {
                return own;
            }
        }
        return forType(where, type, !column.notNull(), numericMapping, timePrecision, debezium);
    }

    /** The converter of one value of a (non-array) type. */
    private static ColumnConverter forType(String where, PgType type, boolean optional, NumericMapping numericMapping,
                                           TimePrecisionMode timePrecision, boolean debeziumTemporals) {
        if (debeziumTemporals && DebeziumTemporals.handles(type)) {
            return DebeziumTemporals.forType(type, optional);
        }
        switch (type.typtype()) {
            case 'e':
                return textForm(SchemaBuilder.string().name(SemanticTypes.ENUM), optional);
            case 'r':
                return textForm(SchemaBuilder.string().name(SemanticTypes.RANGE), optional);
            case 'm':
                return textForm(SchemaBuilder.string().name(SemanticTypes.MULTIRANGE), optional);
            default:
                break;
        }
        switch (type.oid()) {
            case PgTypes.INT2:
                return fixed(SchemaBuilder.int16(), optional, SerializedSize.INT16, (rs, i) -> {
                    short v = rs.getShort(i);
                    return rs.wasNull() ? null : v;
                }, v -> ((Short) v).longValue()).with(Short::valueOf, null);
            case PgTypes.INT4:
                return fixed(SchemaBuilder.int32(), optional, SerializedSize.INT32, (rs, i) -> {
                    int v = rs.getInt(i);
                    return rs.wasNull() ? null : v;
                }, v -> ((Integer) v).longValue()).with(Integer::valueOf, null);
            case PgTypes.INT8:
            case PgTypes.OID:
                return fixed(SchemaBuilder.int64(), optional, SerializedSize.INT64, (rs, i) -> {
                    long v = rs.getLong(i);
                    return rs.wasNull() ? null : v;
                }, v -> v).with(Long::valueOf, null);
            case PgTypes.FLOAT4:
                return fixed(SchemaBuilder.float32(), optional, SerializedSize.FLOAT32, (rs, i) -> {
                    float v = rs.getFloat(i);
                    return rs.wasNull() ? null : v;
                }, Object::toString).with(Float::valueOf, null);
            case PgTypes.FLOAT8:
                return fixed(SchemaBuilder.float64(), optional, SerializedSize.FLOAT64, (rs, i) -> {
                    double v = rs.getDouble(i);
                    return rs.wasNull() ? null : v;
                }, Object::toString).with(Double::valueOf, null);
            case PgTypes.BOOL:
                return fixed(SchemaBuilder.bool(), optional, SerializedSize.BOOLEAN, (rs, i) -> {
                    boolean v = rs.getBoolean(i);
                    return rs.wasNull() ? null : v;
                }, v -> v).with("t"::equals, null);
            case PgTypes.TEXT:
            case PgTypes.VARCHAR:
            case PgTypes.BPCHAR:
            case PgTypes.NAME:
            case PgTypes.CHAR:
            case PgTypes.UUID:
                return text(SchemaBuilder.string(), optional);
            case PgTypes.JSON:
            case PgTypes.JSONB:
                return text(SchemaBuilder.string().name(SemanticTypes.JSON), optional);
            case PgTypes.XML:
                return text(SchemaBuilder.string().name(SemanticTypes.XML), optional);
            case PgTypes.INET:
            case PgTypes.CIDR:
                // Never cast: inet's cast to text always shows the netmask (10.0.0.1/32), its
                // output (and array elements) do not.
                return text(SchemaBuilder.string(), optional);
            case PgTypes.BYTEA:
                return new SimpleConverter(build(SchemaBuilder.bytes(), optional), (rs, i) -> rs.getBytes(i),
                        SimpleConverter.IDENTITY, v -> "\\x" + HEX.formatHex((byte[]) v), v -> SerializedSize.jsonBinary(((byte[]) v).length),
                        Converters::byteaFromText, null);
            case PgTypes.NUMERIC:
                // Selected as text: in binary transfer pgjdbc would turn 0.000…1 into "1E-30".
                return numeric(where, numericScale(type.typmod()), optional, numericMapping, TEXT, t -> t);
            case PgTypes.MONEY:
                // Selected as numeric: money's own text carries the locale's currency symbol and
                // grouping. Its scale is lc_monetary's: 2 for nearly every locale.
                // From the WAL (and money[] elements) it comes as money's own text, read by moneyFromText.
                return numeric(where, MONEY_SCALE, optional, numericMapping, "pg_catalog.numeric::" + TEXT,
                        Converters::moneyFromText);
            case PgTypes.DATE:
                return temporal(Date.builder(), optional, timePrecision, (rs, i) -> rs.getObject(i, LocalDate.class),
                        v -> new java.util.Date(Temporals.epochDays((LocalDate) v) * MILLIS_PER_DAY),
                        null, v -> Temporals.pgText((LocalDate) v)).with(Temporals::parseDate, null);
            case PgTypes.TIME:
                return temporal(Time.builder(), optional, timePrecision, (rs, i) -> rs.getObject(i, LocalTime.class),
                        v -> new java.util.Date(Temporals.millisOfDay((LocalTime) v)),
                        v -> Temporals.microsOfDay((LocalTime) v), v -> Temporals.pgText((LocalTime) v))
                        .with(Temporals::parseTime, null);
            case PgTypes.TIMESTAMP:
                return temporal(Timestamp.builder(), optional, timePrecision,
                        (rs, i) -> rs.getObject(i, LocalDateTime.class),
                        v -> new java.util.Date(Temporals.epochMillis(Temporals.instant((LocalDateTime) v))),
                        v -> Temporals.epochMicros(Temporals.instant((LocalDateTime) v)),
                        v -> Temporals.pgText((LocalDateTime) v)).with(Temporals::parseTimestamp, null);
            case PgTypes.TIMESTAMPTZ:
                return temporal(Timestamp.builder(), optional, timePrecision,
                        (rs, i) -> rs.getObject(i, OffsetDateTime.class),
                        v -> new java.util.Date(Temporals.epochMillis(Temporals.instant((OffsetDateTime) v))),
                        v -> Temporals.epochMicros(Temporals.instant((OffsetDateTime) v)),
                        v -> Temporals.pgText((OffsetDateTime) v)).with(Temporals::parseTimestamptz, null);
            case PgTypes.TIMETZ:
                return textForm(SchemaBuilder.string().name(SemanticTypes.TIME_TZ), optional);
            case PgTypes.INTERVAL:
                // ISO 8601, because every task session sets IntervalStyle (see ConnectionFactory).
                return textForm(SchemaBuilder.string().name(SemanticTypes.INTERVAL), optional);
            case PgTypes.BIT:
            case PgTypes.VARBIT:
                return textForm(SchemaBuilder.string().name(SemanticTypes.BITS), optional);
            default:
                // inet, cidr, macaddr, geometric types, tsvector, pg_lsn, composite types, …:
                // PostgreSQL's own text form, which reads back as the same value.
                return textForm(SchemaBuilder.string(), optional);
        }
    }

    /** Types with a mapping of their own; every other type travels as its text form. */
    private static final Set<Integer> MAPPED = Set.of(PgTypes.INT2, PgTypes.INT4, PgTypes.INT8,
            PgTypes.OID, PgTypes.FLOAT4, PgTypes.FLOAT8, PgTypes.BOOL, PgTypes.TEXT, PgTypes.VARCHAR, PgTypes.BPCHAR,
            PgTypes.NAME, PgTypes.CHAR, PgTypes.UUID, PgTypes.JSON, PgTypes.JSONB, PgTypes.XML, PgTypes.BYTEA,
            PgTypes.NUMERIC, PgTypes.MONEY, PgTypes.DATE, PgTypes.TIME, PgTypes.TIMESTAMP, PgTypes.TIMESTAMPTZ,
            PgTypes.TIMETZ, PgTypes.INTERVAL, PgTypes.BIT, PgTypes.VARBIT,
            // Documented as carried by their text form, which reads back as the same value.
            PgTypes.INET, PgTypes.CIDR, PgTypes.MACADDR, PgTypes.MACADDR8, PgTypes.POINT, PgTypes.LSEG, PgTypes.PATH,
            PgTypes.BOX, PgTypes.POLYGON, PgTypes.LINE, PgTypes.CIRCLE, PgTypes.TSVECTOR, PgTypes.TSQUERY,
            PgTypes.PG_LSN);

    /** True when the column travels as its text form because no documented mapping covers its type. */
    public static boolean isTextFallback(ColumnInfo column) {
        PgType type = column.type().isArray() ? column.type().element() : column.type();
        return !(MAPPED.contains(type.oid()) || type.typtype() == 'e' || type.typtype() == 'r'
                || type.typtype() == 'm');
    }

    /** money's scale in nearly every lc_monetary (a locale with 3 fraction digits needs numeric.mapping=string). */
    private static final int MONEY_SCALE = 2;

    /**
     * money's text as its output function writes it (the WAL's text format) into the numeric text
     * the snapshot selects ({@code money::numeric::text}): {@code -$1,234.56} becomes
     * {@code -1234.56}. The replication session pins lc_monetary=C, whose symbol is {@code $} and
     * whose grouping is {@code ,}; a numeric text (no symbol) passes unchanged.
     */
    static String moneyFromText(String text) {
        StringBuilder plain = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '-' || c == '.' || (c >= '0' && c <= '9')) {
                plain.append(c);
            } else if (c != '$' && c != ',') {
                throw new DataException("money value '" + text + "' is not in lc_monetary=C form (-$1,234.56)");
            }
        }
        return plain.toString();
    }

    /** bytea's hex text form {@code \x0aff} (bytea_output=hex, set on every task session). */
    private static byte[] byteaFromText(String text) {
        if (!text.startsWith("\\x")) {
            throw new DataException("bytea value not in hex form: " + text);
        }
        return HEX.parseHex(text, 2, text.length());
    }

    /**
     * A date/time column under {@code time.precision.mode}. Offsets always use PostgreSQL's text
     * form ({@code pgText}), whatever the value mode. Dates have no sub-day part: only {@code string}
     * changes them.
     *
     * @param micros null for dates
     */
    private static SimpleConverter temporal(SchemaBuilder connectType, boolean optional, TimePrecisionMode mode,
                                            SimpleConverter.Reader reader, Function<Object, Object> connect,
                                            Function<Object, Object> micros, Function<Object, Object> pgText) {
        return switch (mode) {
            case CONNECT -> new SimpleConverter(build(connectType, optional), reader, connect, pgText, v -> SerializedSize.INT64);
            case MICROS -> micros == null
                    ? new SimpleConverter(build(connectType, optional), reader, connect, pgText, v -> SerializedSize.INT64)
                    : new SimpleConverter(build(SchemaBuilder.int64().name(
                            Timestamp.LOGICAL_NAME.equals(connectType.name()) ? SemanticTypes.MICRO_TIMESTAMP
                                    : SemanticTypes.MICRO_TIME)
                            .version(1), optional), reader, micros, pgText, v -> SerializedSize.INT64);
            case STRING -> new SimpleConverter(build(SchemaBuilder.string(), optional), reader, pgText, pgText,
                    v -> SerializedSize.TEMPORAL_TEXT);
        };
    }

    /** A string read with getString, whose text is already PostgreSQL's own. */
    private static SimpleConverter text(SchemaBuilder schema, boolean optional) {
        return new SimpleConverter(build(schema, optional), (rs, i) -> rs.getString(i), SimpleConverter.IDENTITY,
                v -> v, v -> SerializedSize.jsonString((String) v), t -> t, null);
    }

    /**
     * A string selected as {@code ::text}: PostgreSQL's exact text form, whatever pgjdbc would
     * make of the type in binary transfer.
     */
    private static SimpleConverter textForm(SchemaBuilder schema, boolean optional) {
        return new SimpleConverter(build(schema, optional), (rs, i) -> rs.getString(i), SimpleConverter.IDENTITY,
                v -> v, v -> SerializedSize.jsonString((String) v), t -> t, TEXT);
    }

    private static SimpleConverter fixed(SchemaBuilder builder, boolean optional, int size,
                                         SimpleConverter.Reader reader, Function<Object, Object> toOffset) {
        return new SimpleConverter(build(builder, optional), reader, SimpleConverter.IDENTITY, toOffset, v -> size);
    }

    /**
     * numeric is read as text: exact, and the only form that also carries {@code NaN} and
     * {@code ±Infinity}. The raw value (and the offset) is that text.
     *
     * @param scale  the declared scale, -1 for unconstrained
     * @param castTo the type the column is selected as (money is selected as numeric), or null
     */
    private static ColumnConverter numeric(String where, int scale, boolean optional, NumericMapping mapping,
                                           String castTo, Function<String, Object> fromText) {
        SimpleConverter.Reader reader = (rs, i) -> rs.getString(i);
        return switch (mapping) {
            case DOUBLE -> new SimpleConverter(build(SchemaBuilder.float64(), optional), reader,
                    v -> Double.parseDouble((String) v), v -> v, v -> SerializedSize.FLOAT64, fromText, castTo);
            case STRING -> new SimpleConverter(build(SchemaBuilder.string(), optional), reader,
                    SimpleConverter.IDENTITY, v -> v, v -> SerializedSize.jsonString((String) v), fromText, castTo);
            case PRECISE -> scale < 0
                    // Unconstrained numeric: every value may have its own scale, which a Connect
                    // Decimal (one scale per schema) cannot hold; the exact text can.
                    ? new SimpleConverter(build(SchemaBuilder.string(), optional), reader,
                            SimpleConverter.IDENTITY, v -> v, v -> SerializedSize.jsonString((String) v), fromText, castTo)
                    // Always optional: NaN and ±Infinity have no Decimal form and travel as null.
                    : new SimpleConverter(build(Decimal.builder(scale), true), reader,
                            v -> decimal(where, (String) v, scale), v -> v, v -> SerializedSize.jsonDecimal((String) v),
                            fromText, castTo);
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

    static BigDecimal decimal(String where, String text, int scale) {
        if (isSpecialNumeric(text)) {
            warnSpecialNumeric(where, text);
            return null;
        }
        try {
            return new BigDecimal(text).setScale(scale, RoundingMode.UNNECESSARY);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new DataException("Column " + where + " holds the numeric value '" + text
                    + "', which does not fit its declared scale " + scale);
        }
    }

    /** numeric's NaN, Infinity and -Infinity, which no decimal form holds. */
    static boolean isSpecialNumeric(String text) {
        char first = text.charAt(0);
        return first == 'N' || first == 'I' || (first == '-' && text.charAt(1) == 'I');
    }

    static void warnSpecialNumeric(String where, String text) {
        if (WARNED.add(where)) {
            log.warn("Column {} holds {}, which a Connect Decimal cannot represent: sent as null (logged once per "
                    + "column; numeric.mapping=string keeps such values)", where, text);
        }
    }

    /** Columns already warned about for values without a Decimal form. */
    private static final java.util.Set<String> WARNED = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Converters.class);

    private static Schema build(SchemaBuilder builder, boolean optional) {
        return optional ? builder.optional().build() : builder.build();
    }
}

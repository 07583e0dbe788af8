package dev.pgkeyset.connect.schema;

import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.OffsetTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;

import dev.pgkeyset.connect.pg.PgType;

/**
 * Date and time columns as Debezium's PostgreSQL connector writes them under its default
 * {@code time.precision.mode=adaptive}, for {@code record.format=envelope}: a consumer written for
 * Debezium reads the same schema names and the same numbers. The precision of the column decides,
 * as in Debezium: {@code time(0..3)} and {@code timestamp(0..3)} carry milliseconds, wider ones
 * (and the undeclared precision, 6) microseconds. Offsets keep PostgreSQL's text form, as in every
 * other mode, so a connector's resume position does not depend on the record format.
 */
final class DebeziumTemporals {

    static final String DATE = "io.debezium.time.Date";
    static final String TIME = "io.debezium.time.Time";
    static final String MICRO_TIME = "io.debezium.time.MicroTime";
    static final String TIMESTAMP = "io.debezium.time.Timestamp";
    static final String MICRO_TIMESTAMP = "io.debezium.time.MicroTimestamp";
    static final String ZONED_TIMESTAMP = "io.debezium.time.ZonedTimestamp";
    static final String ZONED_TIME = "io.debezium.time.ZonedTime";

    /** PostgreSQL's precision of a time or timestamp declared without one. */
    private static final int DEFAULT_PRECISION = 6;
    /** Debezium's adaptive mode switches from milliseconds to microseconds above this precision. */
    private static final int MILLIS_UP_TO_PRECISION = 3;

    /*
     * PostgreSQL's infinities as Debezium 3.7 writes them (seen in DebeziumSideBySideIT): its own
     * constants for a date and for a millisecond timestamp; Long.MAX/MIN for a microsecond one, as
     * Temporals does; the words for a timestamptz.
     */
    static final int DATE_INFINITY = 2_146_033_979;
    static final int DATE_MINUS_INFINITY = -2_147_472_691;
    static final long MILLIS_INFINITY = 9_223_372_036_825_200_000L;
    static final long MILLIS_MINUS_INFINITY = -9_223_372_036_832_400_000L;

    private DebeziumTemporals() {
    }

    /** Whether this type has a Debezium temporal mapping here. */
    static boolean handles(PgType type) {
        return switch (type.oid()) {
            case PgTypes.DATE, PgTypes.TIME, PgTypes.TIMESTAMP, PgTypes.TIMESTAMPTZ, PgTypes.TIMETZ -> true;
            default -> false;
        };
    }

    static SimpleConverter forType(PgType type, boolean optional) {
        boolean millis = type.typmod() >= 0 && type.typmod() <= MILLIS_UP_TO_PRECISION;
        DateTimeFormatter fraction = zonedTimestampFormat(type.typmod() < 0 ? DEFAULT_PRECISION : type.typmod());
        return switch (type.oid()) {
            case PgTypes.DATE -> new SimpleConverter(schema(SchemaBuilder.int32(), DATE, optional),
                    (rs, i) -> rs.getObject(i, LocalDate.class),
                    v -> days((LocalDate) v), v -> Temporals.pgText((LocalDate) v),
                    v -> SerializedSize.INT32).with(Temporals::parseDate, null);
            case PgTypes.TIME -> millis
                    ? new SimpleConverter(schema(SchemaBuilder.int32(), TIME, optional),
                            (rs, i) -> rs.getObject(i, LocalTime.class),
                            v -> (int) Temporals.millisOfDay((LocalTime) v), v -> Temporals.pgText((LocalTime) v),
                            v -> SerializedSize.INT32).with(Temporals::parseTime, null)
                    : new SimpleConverter(schema(SchemaBuilder.int64(), MICRO_TIME, optional),
                            (rs, i) -> rs.getObject(i, LocalTime.class),
                            v -> Temporals.microsOfDay((LocalTime) v), v -> Temporals.pgText((LocalTime) v),
                            v -> SerializedSize.INT64).with(Temporals::parseTime, null);
            case PgTypes.TIMESTAMP -> new SimpleConverter(
                    schema(SchemaBuilder.int64(), millis ? TIMESTAMP : MICRO_TIMESTAMP, optional),
                    (rs, i) -> rs.getObject(i, LocalDateTime.class),
                    millis ? v -> epochMillis((LocalDateTime) v)
                            : v -> Temporals.epochMicros(Temporals.instant((LocalDateTime) v)),
                    v -> Temporals.pgText((LocalDateTime) v), v -> SerializedSize.INT64)
                    .with(Temporals::parseTimestamp, null);
            case PgTypes.TIMESTAMPTZ -> new SimpleConverter(schema(SchemaBuilder.string(), ZONED_TIMESTAMP, optional),
                    (rs, i) -> rs.getObject(i, OffsetDateTime.class),
                    v -> zonedTimestamp((OffsetDateTime) v, fraction), v -> Temporals.pgText((OffsetDateTime) v),
                    v -> SerializedSize.TEMPORAL_TEXT).with(Temporals::parseTimestamptz, null);
            case PgTypes.TIMETZ -> new SimpleConverter(schema(SchemaBuilder.string(), ZONED_TIME, optional),
                    (rs, i) -> rs.getString(i), v -> zonedTime((String) v), v -> v,
                    v -> SerializedSize.TEMPORAL_TEXT, t -> t, Converters.TEXT);
            default -> throw new IllegalArgumentException("not a date/time type: " + type);
        };
    }

    private static int days(LocalDate date) {
        if (date.equals(LocalDate.MAX)) {
            return DATE_INFINITY;
        }
        if (date.equals(LocalDate.MIN)) {
            return DATE_MINUS_INFINITY;
        }
        return Math.toIntExact(date.toEpochDay());
    }

    private static long epochMillis(LocalDateTime timestamp) {
        if (timestamp.equals(LocalDateTime.MAX)) {
            return MILLIS_INFINITY;
        }
        if (timestamp.equals(LocalDateTime.MIN)) {
            return MILLIS_MINUS_INFINITY;
        }
        return Temporals.epochMillis(Temporals.instant(timestamp));
    }

    /**
     * An instant in UTC, ISO 8601, its fraction as wide as the column's precision (as Debezium 3.7
     * writes it, seen in DebeziumSideBySideIT): {@code 1900-01-01T00:00:00.000000Z} for a
     * {@code timestamptz}; precision 0 has no fraction. PostgreSQL's infinities stay the words
     * {@code infinity} and {@code -infinity}, as Debezium writes them.
     */
    static String zonedTimestamp(OffsetDateTime value, DateTimeFormatter format) {
        if (value.equals(OffsetDateTime.MAX)) {
            return "infinity";
        }
        if (value.equals(OffsetDateTime.MIN)) {
            return "-infinity";
        }
        return format.format(value.withOffsetSameInstant(ZoneOffset.UTC));
    }

    /** ISO 8601 with exactly {@code precision} digits of fraction (none for 0) and the offset ({@code Z}). */
    static DateTimeFormatter zonedTimestampFormat(int precision) {
        java.time.format.DateTimeFormatterBuilder builder = new java.time.format.DateTimeFormatterBuilder()
                .append(DateTimeFormatter.ISO_LOCAL_DATE).appendLiteral('T')
                .appendPattern("HH:mm:ss");
        if (precision > 0) {
            builder.appendFraction(java.time.temporal.ChronoField.NANO_OF_SECOND, precision, precision, true);
        }
        return builder.appendOffsetId().toFormatter(java.util.Locale.ROOT);
    }

    /**
     * PostgreSQL's timetz text ({@code 13:14:15.123456+02[:30[:15]]}) moved to UTC, ISO 8601
     * ({@code 11:14:15.123456Z}). {@code 24:00:00}, which java.time cannot hold, is the same time of
     * day as midnight and moves by its offset like it.
     */
    static String zonedTime(String pgText) {
        int sign = Math.max(pgText.lastIndexOf('+'), pgText.lastIndexOf('-'));
        String clock = pgText.substring(0, sign);
        String[] parts = pgText.substring(sign + 1).split(":");
        int factor = pgText.charAt(sign) == '-' ? -1 : 1;
        ZoneOffset offset = ZoneOffset.ofHoursMinutesSeconds(factor * Integer.parseInt(parts[0]),
                parts.length > 1 ? factor * Integer.parseInt(parts[1]) : 0,
                parts.length > 2 ? factor * Integer.parseInt(parts[2]) : 0);
        LocalTime local = clock.startsWith("24:") ? LocalTime.MIDNIGHT : LocalTime.parse(clock);
        OffsetTime utc = OffsetTime.of(local, offset).withOffsetSameInstant(ZoneOffset.UTC);
        return DateTimeFormatter.ISO_OFFSET_TIME.format(utc);
    }

    private static Schema schema(SchemaBuilder builder, String name, boolean optional) {
        builder.name(name).version(1);
        return optional ? builder.optional().build() : builder.build();
    }
}

package dev.pgkeyset.connect.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

import org.apache.kafka.connect.data.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.pgkeyset.connect.config.NumericMapping;
import dev.pgkeyset.connect.config.TimePrecisionMode;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.TableId;

/**
 * The schemas of date/time columns in record.format=envelope: Debezium's adaptive semantic types,
 * chosen by the column's precision (typmod -1 is the undeclared precision, 6). The table is
 * Debezium's documented mapping, written out by hand; the row format is left as it was.
 */
class DebeziumTemporalsTest {

    private static final TableId TABLE = new TableId("public", "t");

    @ParameterizedTest(name = "{0} typmod {1}")
    @CsvSource({
            "1082, -1, INT32, io.debezium.time.Date",
            "1083, 0, INT32, io.debezium.time.Time",
            "1083, 3, INT32, io.debezium.time.Time",
            "1083, 4, INT64, io.debezium.time.MicroTime",
            "1083, 6, INT64, io.debezium.time.MicroTime",
            "1083, -1, INT64, io.debezium.time.MicroTime",
            "1114, 0, INT64, io.debezium.time.Timestamp",
            "1114, 3, INT64, io.debezium.time.Timestamp",
            "1114, 4, INT64, io.debezium.time.MicroTimestamp",
            "1114, -1, INT64, io.debezium.time.MicroTimestamp",
            "1184, 0, STRING, io.debezium.time.ZonedTimestamp",
            "1184, -1, STRING, io.debezium.time.ZonedTimestamp",
            "1266, -1, STRING, io.debezium.time.ZonedTime",
    })
    void envelopeSchemasAreDebeziums(int oid, int typmod, Schema.Type type, String name) {
        Schema schema = converter(oid, typmod, true).schema();
        assertEquals(type, schema.type());
        assertEquals(name, schema.name());
        assertEquals(1, schema.version());
        assertEquals(true, schema.isOptional());
    }

    @Test
    void rowFormatKeepsItsOwnTimePrecisionMode() {
        assertEquals("org.apache.kafka.connect.data.Timestamp", converter(1114, 3, false).schema().name());
        assertEquals(SemanticTypes.TIME_TZ, converter(1266, -1, false).schema().name());
    }

    @Test
    void valuesInTheirUnits() {
        ColumnConverter time3 = converter(1083, 3, true);
        assertEquals(86_400_000, time3.toConnect(LocalTime.MAX), "24:00:00 is the whole day");
        assertEquals(45_296_789, time3.toConnect(LocalTime.of(12, 34, 56, 789_000_000)));
        ColumnConverter micro = converter(1083, -1, true);
        assertEquals(45_296_789_012L, micro.toConnect(LocalTime.of(12, 34, 56, 789_012_000)));
        ColumnConverter zoned = converter(1184, -1, true);
        assertEquals("1969-12-31T22:59:59.999999Z",
                zoned.toConnect(OffsetDateTime.of(1969, 12, 31, 23, 59, 59, 999_999_000, ZoneOffset.ofHours(1))));
        assertEquals("2024-05-01T10:00:00.000000Z",
                zoned.toConnect(OffsetDateTime.of(2024, 5, 1, 10, 0, 0, 0, ZoneOffset.UTC)), "6 digits, as the column");
        assertEquals("2024-05-01T10:00:00.100Z", converter(1184, 3, true)
                .toConnect(OffsetDateTime.of(2024, 5, 1, 10, 0, 0, 100_000_000, ZoneOffset.UTC)));
        assertEquals("2024-05-01T10:00:00Z", converter(1184, 0, true)
                .toConnect(OffsetDateTime.of(2024, 5, 1, 10, 0, 0, 0, ZoneOffset.UTC)));
        assertEquals("infinity", zoned.toConnect(OffsetDateTime.MAX));
        assertEquals("-infinity", zoned.toConnect(OffsetDateTime.MIN));
        // The offset keeps PostgreSQL's text, whatever the record format.
        assertEquals("1969-12-31 22:59:59.999999+00",
                zoned.toOffset(OffsetDateTime.of(1969, 12, 31, 23, 59, 59, 999_999_000, ZoneOffset.ofHours(1))));
        ColumnConverter timetz = converter(1266, -1, true);
        assertEquals("22:30:00Z", timetz.toConnect("04:00:00+05:30"));
        assertEquals("21:59:45Z", timetz.toConnect("24:00:00+02:00:15"), "24:00 moves like midnight");
        assertEquals("03:00:00.000001Z", timetz.toConnect("00:00:00.000001-03"));
        assertEquals(-1, converter(1082, -1, true).toConnect(java.time.LocalDate.of(1969, 12, 31)));
    }

    private static ColumnConverter converter(int oid, int typmod, boolean envelope) {
        return Converters.forColumn(TABLE, new ColumnInfo("c", oid, "x", typmod, false), NumericMapping.PRECISE,
                TimePrecisionMode.CONNECT, envelope);
    }
}

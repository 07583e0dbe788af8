package dev.pgkeyset.connect.schema;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;

import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Struct;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.pgkeyset.connect.config.NumericMapping;
import dev.pgkeyset.connect.config.TimePrecisionMode;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.PgType;
import dev.pgkeyset.connect.pg.TableId;

/**
 * The non-temporal Debezium forms of record.format=envelope. Expected schemas are Debezium's
 * documented names and types; expected numbers are worked out by hand here (and are the ones
 * Debezium 3.7 wrote for the same values in DebeziumSideBySideIT). The row format is unchanged.
 */
class DebeziumTypesTest {

    private static final TableId TABLE = new TableId("public", "t");
    /** numeric's typmod for (precision, scale): ((precision << 16) | scale) + 4. */
    private static final int NUMERIC_12_3 = ((12 << 16) | 3) + 4;

    @ParameterizedTest(name = "{0} typmod {1}")
    @CsvSource({
            "114, -1, STRING, io.debezium.data.Json",
            "3802, -1, STRING, io.debezium.data.Json",
            "2950, -1, STRING, io.debezium.data.Uuid",
            "142, -1, STRING, io.debezium.data.Xml",
            "1186, -1, INT64, io.debezium.time.MicroDuration",
            "1560, 8, BYTES, io.debezium.data.Bits",
            "1562, -1, BYTES, io.debezium.data.Bits",
            "1700, -1, STRUCT, io.debezium.data.VariableScaleDecimal",
            "600, -1, STRUCT, io.debezium.data.geometry.Point",
    })
    void envelopeSchemasAreDebeziums(int oid, int typmod, Schema.Type type, String name) {
        Schema schema = converter(PgType.base(oid, typmod), true).schema();
        assertEquals(type, schema.type());
        assertEquals(name, schema.name());
        assertEquals(1, schema.version());
    }

    @Test
    void parametersAreDebeziums() {
        assertEquals("8", converter(PgType.base(1560, 8), true).schema().parameters().get("length"));
        assertEquals(Integer.toString(Integer.MAX_VALUE),
                converter(PgType.base(1562, -1), true).schema().parameters().get("length"), "varbit without a length");
        Schema decimal = converter(PgType.base(1700, NUMERIC_12_3), true).schema();
        assertEquals("org.apache.kafka.connect.data.Decimal", decimal.name());
        assertEquals("3", decimal.parameters().get("scale"));
        assertEquals("12", decimal.parameters().get("connect.decimal.precision"));
        Schema mood = converter(new PgType(99_998, 'e', -1, null, "mood", List.of("sad", "ok", "happy")), true).schema();
        assertEquals("io.debezium.data.Enum", mood.name());
        assertEquals("sad,ok,happy", mood.parameters().get("allowed"));
        assertEquals("io.debezium.data.Ltree",
                converter(new PgType(99_997, 'b', -1, null, "ltree", List.of()), true).schema().name());
        assertEquals(Schema.Type.BOOLEAN, converter(PgType.base(1560, 1), true).schema().type(), "bit(1)");
    }

    @Test
    void rowFormatIsUnchanged() {
        assertEquals(SemanticTypes.JSON, converter(PgType.base(114, -1), false).schema().name());
        assertNull(converter(PgType.base(2950, -1), false).schema().name());
        assertEquals(SemanticTypes.INTERVAL, converter(PgType.base(1186, -1), false).schema().name());
        assertEquals(SemanticTypes.BITS, converter(PgType.base(1560, 1), false).schema().name());
        assertEquals(Schema.Type.STRING, converter(PgType.base(1700, -1), false).schema().type());
        assertNull(converter(PgType.base(1700, NUMERIC_12_3), false).schema().parameters()
                .get("connect.decimal.precision"));
        assertEquals(SemanticTypes.ENUM, converter(new PgType(99_998, 'e', -1, null, "mood", List.of("a")), false)
                .schema().name());
    }

    @Test
    void intervalsInMicrosecondsWithDebeziumsMonth() {
        // 14 months of 30.4375 days and 3 days: 429.125 days = 37 076 400 s; 04:05:06.789 = 14 706.789 s.
        assertEquals(37_091_106_789_000L, DebeziumTypes.intervalMicros("P1Y2M3DT4H5M6.789S"));
        assertEquals(-86_401_500_000L, DebeziumTypes.intervalMicros("P-1DT-1.5S"));
        assertEquals(0L, DebeziumTypes.intervalMicros("PT0S"));
        // 6 months are 182.625 days = 15 778 800 s, one more day and a second less: 15 865 199 s.
        assertEquals(15_865_199_000_000L, DebeziumTypes.intervalMicros("P6M1DT-1S"));
        assertEquals(Long.MIN_VALUE, DebeziumTypes.intervalMicros("P-178000000Y"), "beyond INT64: saturated");
        ColumnConverter interval = converter(PgType.base(1186, -1), true);
        assertEquals(3_600_000_000L, interval.toConnect(interval.fromText("PT1H")));
        assertEquals("PT1H", interval.toOffset("PT1H"), "the offset keeps PostgreSQL's text");
    }

    @Test
    void bitsAsLittleEndianBytesOfTheirValue() {
        assertArrayEquals(new byte[] {(byte) 0xA5}, DebeziumTypes.bitBytes("10100101"));
        // 1011001110 is 0x2CE: low byte first.
        assertArrayEquals(new byte[] {(byte) 0xCE, 0x02}, DebeziumTypes.bitBytes("1011001110"));
        assertArrayEquals(new byte[0], DebeziumTypes.bitBytes("00000000"), "no bit set: no byte");
        assertEquals(true, converter(PgType.base(1560, 1), true).toConnect("1"));
        assertEquals(false, converter(PgType.base(1560, 1), true).toConnect("0"));
    }

    @Test
    void unconstrainedNumericAsVariableScaleDecimal() {
        ColumnConverter numeric = converter(PgType.base(1700, -1), true);
        Struct value = (Struct) numeric.toConnect("123.4500");
        assertEquals(2, value.getInt32("scale"), "trailing zeros stripped");
        assertArrayEquals(new byte[] {0x30, 0x39}, value.getBytes("value"), "12345");
        Struct big = (Struct) numeric.toConnect("100000000000000000000");
        assertEquals(0, big.getInt32("scale"), "never a negative scale");
        assertEquals(new java.math.BigInteger("100000000000000000000"), new java.math.BigInteger(big.getBytes("value")));
        Struct tiny = (Struct) numeric.toConnect("-0.000000001");
        assertEquals(9, tiny.getInt32("scale"));
        assertArrayEquals(new byte[] {(byte) 0xFF}, tiny.getBytes("value"), "-1");
        assertNull(numeric.toConnect("NaN"));
        assertNull(numeric.toConnect("-Infinity"));
    }

    @Test
    void hstoreAsJsonAndPointAsStruct() {
        assertEquals("{\"a\":\"1\",\"b c\":null}", DebeziumTypes.hstoreJson("\"a\"=>\"1\", \"b c\"=>NULL"));
        assertEquals("{}", DebeziumTypes.hstoreJson(""));
        Struct point = (Struct) converter(PgType.base(600, -1), true).toConnect("(1.5,-2)");
        assertEquals(1.5, point.getFloat64("x"));
        assertEquals(-2.0, point.getFloat64("y"));
        // WKB: 01 (little-endian), type 1 (point), then x and y as little-endian doubles.
        assertArrayEquals(new byte[] {1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xF8, 0x3F,
                0, 0, 0, 0, 0, 0, 0, (byte) 0xC0}, point.getBytes("wkb"));
        assertNull(point.getInt32("srid"));
    }

    private static ColumnConverter converter(PgType type, boolean envelope) {
        return Converters.forColumn(TABLE, new ColumnInfo("c", type, "x", 0, false), NumericMapping.PRECISE,
                TimePrecisionMode.CONNECT, envelope);
    }
}

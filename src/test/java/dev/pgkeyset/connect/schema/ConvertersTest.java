package dev.pgkeyset.connect.schema;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

import org.apache.kafka.connect.data.Decimal;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Timestamp;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.config.NumericMapping;
import dev.pgkeyset.connect.config.TimePrecisionMode;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.PgType;
import dev.pgkeyset.connect.pg.TableId;

class ConvertersTest {

    private static final TableId T = new TableId("public", "t");

    private static ColumnConverter converter(int oid, String typeName, int typmod, boolean notNull, NumericMapping m) {
        return Converters.forColumn(T, new ColumnInfo("c", oid, typeName, typmod, notNull), m);
    }

    @Test
    void nullableColumnsAreOptionalFields() {
        assertTrue(converter(PgTypes.INT4, "integer", -1, false, NumericMapping.PRECISE).schema().isOptional());
        assertFalse(converter(PgTypes.INT4, "integer", -1, true, NumericMapping.PRECISE).schema().isOptional());
    }

    @Test
    void numericScaleComesFromTheTypmod() {
        assertEquals(2, Converters.numericScale(((12 << 16) | 2) + 4));
        assertEquals(0, Converters.numericScale(((10 << 16)) + 4));
        assertEquals(-1, Converters.numericScale(-1));
    }

    @Test
    void numericMappings() {
        int typmod = ((12 << 16) | 2) + 4;
        ColumnConverter precise = converter(PgTypes.NUMERIC, "numeric(12,2)", typmod, true, NumericMapping.PRECISE);
        assertEquals(Decimal.LOGICAL_NAME, precise.schema().name());
        assertEquals(new BigDecimal("12.30"), precise.toConnect("12.3"));
        assertEquals("12.3", precise.toOffset("12.3"));
        assertEquals(null, precise.toConnect("NaN"), "no Decimal form: null (the field is optional)");
        assertEquals(null, precise.toConnect("-Infinity"));
        assertTrue(precise.schema().isOptional());

        ColumnConverter free = converter(PgTypes.NUMERIC, "numeric", -1, true, NumericMapping.PRECISE);
        assertEquals(Schema.Type.STRING, free.schema().type(), "unconstrained numeric stays exact as text");
        assertEquals("1.000000000000000000001", free.toConnect("1.000000000000000000001"));

        assertEquals(1.5, converter(PgTypes.NUMERIC, "numeric", -1, true, NumericMapping.DOUBLE).toConnect("1.5"));
        assertEquals("NaN", converter(PgTypes.NUMERIC, "numeric", -1, true, NumericMapping.STRING).toConnect("NaN"));
    }

    @Test
    void timestampsBecomeInstantsAndOffsetsKeepMicroseconds() {
        ColumnConverter tstz = converter(PgTypes.TIMESTAMPTZ, "timestamp with time zone", -1, true,
                NumericMapping.PRECISE);
        OffsetDateTime value = OffsetDateTime.of(2024, 1, 2, 3, 4, 5, 123_456_000, ZoneOffset.ofHours(2));
        assertEquals(Timestamp.LOGICAL_NAME, tstz.schema().name());
        assertEquals(new java.util.Date(value.toInstant().toEpochMilli()), tstz.toConnect(value));
        assertEquals("2024-01-02 01:04:05.123456+00", tstz.toOffset(value));

        ColumnConverter ts = converter(PgTypes.TIMESTAMP, "timestamp without time zone", -1, true,
                NumericMapping.PRECISE);
        LocalDateTime local = LocalDateTime.of(1969, 12, 31, 23, 59, 59, 999_000_000);
        assertEquals(new java.util.Date(-1), ts.toConnect(local), "never shifted by the JVM's zone");

        ColumnConverter date = converter(PgTypes.DATE, "date", -1, true, NumericMapping.PRECISE);
        assertEquals(new java.util.Date(86_400_000L), date.toConnect(LocalDate.of(1970, 1, 2)));
        assertEquals(new java.util.Date(Integer.MAX_VALUE * 86_400_000L), date.toConnect(LocalDate.MAX),
                "infinity: the largest Connect Date");
        assertEquals(new java.util.Date(Long.MAX_VALUE), tstz.toConnect(OffsetDateTime.MAX));
        assertEquals("infinity", tstz.toOffset(OffsetDateTime.MAX));
    }

    @Test
    void microsecondModeKeepsEveryDigit() {
        ColumnConverter tstz = Converters.forColumn(T, new ColumnInfo("c", PgTypes.TIMESTAMPTZ,
                "timestamp with time zone", -1, true), NumericMapping.PRECISE, TimePrecisionMode.MICROS);
        OffsetDateTime value = OffsetDateTime.of(1969, 12, 31, 23, 59, 59, 999_999_000, ZoneOffset.UTC);
        assertEquals(SemanticTypes.MICRO_TIMESTAMP, tstz.schema().name());
        assertEquals(-1L, tstz.toConnect(value));
        ColumnConverter time = Converters.forColumn(T, new ColumnInfo("c", PgTypes.TIME, "time without time zone",
                -1, true), NumericMapping.PRECISE, TimePrecisionMode.MICROS);
        assertEquals(SemanticTypes.MICRO_TIME, time.schema().name());
        assertEquals(3_723_000_004L, time.toConnect(java.time.LocalTime.of(1, 2, 3, 4_000)));
        ColumnConverter text = Converters.forColumn(T, new ColumnInfo("c", PgTypes.TIMESTAMP,
                "timestamp without time zone", -1, true), NumericMapping.PRECISE, TimePrecisionMode.STRING);
        assertEquals("2024-01-02 03:04:05.000006", text.toConnect(LocalDateTime.of(2024, 1, 2, 3, 4, 5, 6_000)));
    }

    @Test
    void offsetsOfIntegersAreNumbersAndOfBytesHex() {
        assertEquals(7L, converter(PgTypes.INT2, "smallint", -1, true, NumericMapping.PRECISE).toOffset((short) 7));
        assertEquals(7L, converter(PgTypes.INT4, "integer", -1, true, NumericMapping.PRECISE).toOffset(7));
        assertEquals("\\x00ff", converter(PgTypes.BYTEA, "bytea", -1, true, NumericMapping.PRECISE)
                .toOffset(new byte[] {0, (byte) 0xff}));
        assertArrayEquals(new byte[] {1}, (byte[]) converter(PgTypes.BYTEA, "bytea", -1, true, NumericMapping.PRECISE)
                .toConnect(new byte[] {1}));
    }

    @Test
    void documentedTextFormsAreNoFallbackAndUnknownTypesAre() {
        ColumnInfo inet = new ColumnInfo("c", PgTypes.INET, "inet", -1, false);
        assertFalse(Converters.isTextFallback(inet));
        assertEquals(Schema.Type.STRING, Converters.forColumn(T, inet, NumericMapping.PRECISE).schema().type());
        assertEquals("\"c\"", Converters.forColumn(T, inet, NumericMapping.PRECISE).selectExpression("\"c\""),
                "inet's text cast would add /32: read as output");
        ColumnInfo composite = new ColumnInfo("c", new PgType(99_999, 'c', -1, null), "pair", 0, false);
        assertTrue(Converters.isTextFallback(composite));
        assertEquals("\"c\"::text", Converters.forColumn(T, composite, NumericMapping.PRECISE)
                .selectExpression("\"c\""));
    }

    @Test
    void semanticStringsAreNamed() {
        assertEquals(SemanticTypes.JSON, converter(PgTypes.JSONB, "jsonb", -1, false, NumericMapping.PRECISE)
                .schema().name());
        assertEquals(SemanticTypes.INTERVAL, converter(PgTypes.INTERVAL, "interval", -1, false,
                NumericMapping.PRECISE).schema().name());
        ColumnInfo mood = new ColumnInfo("c", new PgType(99_998, 'e', -1, null), "mood", 0, false);
        assertEquals(SemanticTypes.ENUM, Converters.forColumn(T, mood, NumericMapping.PRECISE).schema().name());
        ColumnInfo range = new ColumnInfo("c", new PgType(3904, 'r', -1, null), "int4range", 0, false);
        assertEquals(SemanticTypes.RANGE, Converters.forColumn(T, range, NumericMapping.PRECISE).schema().name());
    }

    @Test
    void moneyIsADecimalReadWithoutItsCurrencySymbol() {
        ColumnConverter money = converter(PgTypes.MONEY, "money", -1, false, NumericMapping.PRECISE);
        assertEquals(Decimal.LOGICAL_NAME, money.schema().name());
        assertEquals(new BigDecimal("1234.50"), money.toConnect("1234.5"));
        assertEquals("\"m\"::numeric::text", money.selectExpression("\"m\""));
    }

    @Test
    void moneysOwnTextFromTheWalReadsAsTheNumericTheSnapshotSelects() {
        // Texts as PostgreSQL prints them under lc_monetary=C: SELECT '-1234567.5'::money, '0.01'::money
        ColumnConverter money = converter(PgTypes.MONEY, "money", -1, false, NumericMapping.PRECISE);
        assertEquals(new BigDecimal("-1234567.50"), money.toConnect(money.fromText("-$1,234,567.50")));
        assertEquals(new BigDecimal("0.01"), money.toConnect(money.fromText("$0.01")));
        assertEquals("-1234567.50", money.fromText("-1234567.50"), "numeric text passes unchanged");
        ColumnConverter asString = converter(PgTypes.MONEY, "money", -1, false, NumericMapping.STRING);
        assertEquals("92233720368547758.07", asString.toConnect(asString.fromText("$92,233,720,368,547,758.07")));
        ColumnConverter moneys = Converters.forColumn(T, new ColumnInfo("c", new PgType(791, 'b', -1,
                PgType.base(PgTypes.MONEY, -1)), "money[]", 1, false), NumericMapping.PRECISE);
        // SELECT array['-1.5'::money, '1000'::money] under lc_monetary=C
        assertEquals(java.util.List.of(new BigDecimal("-1.50"), new BigDecimal("1000.00")),
                moneys.toConnect(moneys.fromText("{-$1.50,\"$1,000.00\"}")));
        assertEquals(moneys.toConnect("{-1.50,1000.00}"), moneys.toConnect(moneys.fromText("{-$1.50,\"$1,000.00\"}")));
        assertThrows(org.apache.kafka.connect.errors.DataException.class, () -> money.fromText("1.234,56 €"));
    }

    private static ColumnConverter array(int elementOid, int dimensions, NumericMapping mapping) {
        return Converters.forColumn(T, new ColumnInfo("c", new PgType(1, 'b', -1, PgType.base(elementOid, -1)),
                "x[]", dimensions, false), mapping);
    }

    @Test
    void arraysNestPerDimensionAndKeepNullElements() {
        ColumnConverter ints = array(PgTypes.INT4, 2, NumericMapping.PRECISE);
        assertEquals(Schema.Type.ARRAY, ints.schema().type());
        assertEquals(Schema.Type.ARRAY, ints.schema().valueSchema().type());
        assertEquals(Schema.Type.INT32, ints.schema().valueSchema().valueSchema().type());
        assertTrue(ints.schema().valueSchema().valueSchema().isOptional(), "elements may be NULL");
        assertEquals(java.util.List.of(java.util.List.of(1, 2), java.util.Arrays.asList(null, 4)),
                ints.toConnect("{{1,2},{NULL,4}}"));
        assertEquals("{{1,2},{NULL,4}}", ints.toOffset("{{1,2},{NULL,4}}"), "the offset is the literal itself");
        assertEquals("\"c\"::text", ints.selectExpression("\"c\""));
        assertEquals(java.util.List.of(), ints.toConnect("{}"));
    }

    @Test
    void arrayElementsUseTheirTypesConversion() {
        ColumnConverter stamps = array(PgTypes.TIMESTAMPTZ, 1, NumericMapping.PRECISE);
        assertEquals(java.util.Arrays.asList(new java.util.Date(1_500), null, new java.util.Date(Long.MAX_VALUE)),
                stamps.toConnect("{\"1970-01-01 01:00:01.5+01\",NULL,infinity}"));
        ColumnConverter bytes = array(PgTypes.BYTEA, 1, NumericMapping.PRECISE);
        java.util.List<?> decoded = (java.util.List<?>) bytes.toConnect("{\"\\\\x00ff\",\"\\\\x\"}");
        assertArrayEquals(new byte[] {0, (byte) 0xff}, (byte[]) decoded.get(0));
        assertArrayEquals(new byte[0], (byte[]) decoded.get(1));
        ColumnConverter money = array(PgTypes.MONEY, 1, NumericMapping.PRECISE);
        assertEquals("\"c\"::numeric[]::text", money.selectExpression("\"c\""));
    }

    @Test
    void anArrayWithOtherDimensionsThanDeclaredNamesTheColumn() {
        ColumnConverter ints = array(PgTypes.INT4, 1, NumericMapping.PRECISE);
        org.apache.kafka.connect.errors.DataException e = org.junit.jupiter.api.Assertions.assertThrows(
                org.apache.kafka.connect.errors.DataException.class, () -> ints.toConnect("{{1},{2}}"));
        assertTrue(e.getMessage().contains("public.t.c") && e.getMessage().contains("2"), e.getMessage());
        org.apache.kafka.connect.errors.DataException bad = org.junit.jupiter.api.Assertions.assertThrows(
                org.apache.kafka.connect.errors.DataException.class, () -> ints.toConnect("{x}"));
        assertTrue(bad.getMessage().contains("public.t.c"), bad.getMessage());
    }
}

package dev.pgkeyset.connect.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Random;

import org.apache.kafka.connect.json.JsonConverter;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.config.NumericMapping;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.PgType;
import dev.pgkeyset.connect.pg.TableId;

/**
 * The converters' byte estimates against what JsonConverter (schemas off) really writes, and against
 * the UTF-8 length: text of 1-, 2-, 3- and 4-byte characters, bytea, arrays and numbers.
 */
class SerializedSizeTest {

    private static final long SEED = Long.getLong("sizes.seed", System.nanoTime());
    private static final JsonConverter JSON = new JsonConverter();

    static {
        JSON.configure(Map.of("schemas.enable", "false"), false);
        System.out.println("SerializedSizeTest seed " + SEED + " (replay with -Dsizes.seed=" + SEED + ")");
    }

    private static ColumnConverter converter(int oid, String typeName) {
        return Converters.forColumn(new TableId("public", "t"), new ColumnInfo("c", oid, typeName, -1, true),
                NumericMapping.PRECISE);
    }

    /** The bytes JsonConverter writes for the value a converter makes of {@code raw}. */
    private static int jsonBytes(ColumnConverter converter, Object raw) {
        return JSON.fromConnectData("t", converter.schema(), converter.toConnect(raw)).length;
    }

    @Test
    void textIsCountedInUtf8AsJsonWritesIt() {
        ColumnConverter text = converter(PgTypes.TEXT, "text");
        String[] samples = {"", "plain ascii", "é ü ß ñ Ж ש ع", "日本語のテキスト €", "😀 𝄞 🇩🇪", "mixed a é 日 😀",
                "say \"hi\" \\ back", "x".repeat(10_000), "日".repeat(10_000), "😀".repeat(5_000)};
        for (String s : samples) {
            int json = jsonBytes(text, s);
            int utf8 = s.getBytes(StandardCharsets.UTF_8).length;
            assertEquals(json, text.estimateBytes(s), "estimate of " + abbreviate(s));
            assertTrue(text.estimateBytes(s) >= utf8 + 2, "at least UTF-8 and two quotes: " + abbreviate(s));
            System.out.printf("%-28s utf-16 units %6d, utf-8 %6d, json %6d, estimate %6d%n", abbreviate(s),
                    s.length(), utf8, json, text.estimateBytes(s));
        }
    }

    @Test
    void controlCharactersAreNeverUndercounted() {
        ColumnConverter text = converter(PgTypes.TEXT, "text");
        StringBuilder controls = new StringBuilder();
        for (char c = 1; c < 0x20; c++) {
            controls.append(c);
        }
        String s = controls.toString();
        int json = jsonBytes(text, s);
        int estimate = text.estimateBytes(s);
        assertTrue(estimate >= json && estimate <= json + 5 * s.length(), estimate + " for " + json + " bytes");
    }

    @Test
    void randomCodePointsMatchTheirUtf8Length() {
        Random random = new Random(SEED);
        ColumnConverter text = converter(PgTypes.TEXT, "text");
        for (int round = 0; round < 2_000; round++) {
            StringBuilder s = new StringBuilder();
            for (int i = random.nextInt(40); i > 0; i--) {
                int cp;
                do {
                    // Weighted towards each UTF-8 width: < 0x80, < 0x800, < 0x10000, supplementary.
                    cp = switch (random.nextInt(4)) {
                        case 0 -> 0x20 + random.nextInt(0x5f);
                        case 1 -> 0x80 + random.nextInt(0x800 - 0x80);
                        case 2 -> 0x800 + random.nextInt(0x10000 - 0x800);
                        default -> 0x10000 + random.nextInt(0x110000 - 0x10000);
                    };
                } while (Character.isSurrogate((char) cp) && cp < 0x10000 || cp == '"' || cp == '\\');
                s.appendCodePoint(cp);
            }
            String value = s.toString();
            assertEquals(value.getBytes(StandardCharsets.UTF_8).length, SerializedSize.utf8(value), abbreviate(value));
            assertEquals(jsonBytes(text, value), text.estimateBytes(value), abbreviate(value));
        }
    }

    @Test
    void byteaIsCountedAsBase64() {
        ColumnConverter bytea = converter(PgTypes.BYTEA, "bytea");
        Random random = new Random(SEED);
        for (int length : new int[] {0, 1, 2, 3, 4, 5, 6, 7, 100, 1000, 2 * 1024 * 1024 + 1}) {
            byte[] value = new byte[length];
            random.nextBytes(value);
            assertEquals(jsonBytes(bytea, value), bytea.estimateBytes(value), length + " bytes");
        }
    }

    @Test
    void decimalsAreNeverUndercountedInBase64() {
        Random random = new Random(SEED);
        for (int round = 0; round < 2_000; round++) {
            int precision = 1 + random.nextInt(60);
            int scale = random.nextInt(precision + 1);
            ColumnConverter decimal = Converters.forColumn(new TableId("public", "t"), new ColumnInfo("c",
                    PgTypes.NUMERIC, "numeric", ((precision << 16) | scale) + 4, true), NumericMapping.PRECISE);
            StringBuilder digits = new StringBuilder(random.nextBoolean() ? "-" : "");
            int whole = precision - scale == 0 ? 0 : 1 + random.nextInt(precision - scale);
            digits.append(whole == 0 ? "0" : Integer.toString(1 + random.nextInt(9)));
            for (int i = 1; i < whole; i++) {
                digits.append(random.nextInt(10));
            }
            if (scale > 0) {
                digits.append('.');
                for (int i = 0; i < scale; i++) {
                    digits.append(random.nextInt(10));
                }
            }
            String text = digits.toString();
            assertTrue(decimal.estimateBytes(text) >= jsonBytes(decimal, text), "numeric(" + precision + ","
                    + scale + ") " + text + ": estimate " + decimal.estimateBytes(text) + ", JSON "
                    + jsonBytes(decimal, text));
        }
    }

    @Test
    void numbersAreNeverUndercounted() {
        Object[][] extremes = {
                {PgTypes.INT2, "smallint", Short.MIN_VALUE},
                {PgTypes.INT4, "integer", Integer.MIN_VALUE},
                {PgTypes.INT8, "bigint", Long.MIN_VALUE},
                {PgTypes.FLOAT4, "real", -Float.MIN_NORMAL},
                {PgTypes.FLOAT4, "real", -Float.MAX_VALUE},
                {PgTypes.FLOAT8, "double precision", -Double.MIN_NORMAL},
                {PgTypes.FLOAT8, "double precision", -Double.MAX_VALUE},
                {PgTypes.BOOL, "boolean", false}};
        for (Object[] e : extremes) {
            ColumnConverter c = converter((Integer) e[0], (String) e[1]);
            assertTrue(c.estimateBytes(e[2]) >= jsonBytes(c, e[2]), e[1] + " " + e[2]);
        }
    }

    @Test
    void arraysAreNeverUndercountedNorFarOver() {
        ColumnConverter texts = Converters.forColumn(new TableId("public", "t"),
                new ColumnInfo("a", new PgType(1009, 'b', -1, PgType.base(PgTypes.TEXT, -1)), "text[]", 1, true),
                NumericMapping.PRECISE);
        String[] samples = {"{}", "{a,b,c}", "{日本,語,😀😀,NULL}", "{\"a b\",\"say \\\"hi\\\"\",é}",
                "{" + "Ж".repeat(1000) + "," + "😀".repeat(1000) + "}"};
        for (String s : samples) {
            int json = jsonBytes(texts, s);
            int estimate = texts.estimateBytes(s);
            assertTrue(estimate >= json && estimate <= json * 3 / 2 + 16, estimate + " for " + json + ": " + s);
        }
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "… (" + s.length() + " chars)" : s;
    }
}

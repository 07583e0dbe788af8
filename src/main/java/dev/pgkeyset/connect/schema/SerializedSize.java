package dev.pgkeyset.connect.schema;

/**
 * How many bytes a value takes once a converter has written it, for {@code batch.max.bytes}.
 *
 * <p>The reference is JsonConverter (schemas off), the widest of Connect's usual converters: strings
 * in UTF-8 between quotes, with JSON's escapes; binary as base64 (4 bytes for every 3); numbers as
 * decimal text. Avro and Protobuf write the same strings, raw bytes and shorter numbers, so for them
 * the estimate errs high — batches a little smaller than the bound, never larger, which is the side
 * a bound must err on. Counting UTF-16 units instead undercounts text of other scripts up to 3×.
 *
 * <p>Counting walks the characters once, without encoding them (no byte array per value).
 */
public final class SerializedSize {

    /** {@code "name":} and a separator, around every field. */
    public static final int FIELD_OVERHEAD = 4;
    /** JSON's {@code null}. */
    public static final int NULL = 4;
    /** The longest decimal text of each number type, as JsonConverter (Jackson) writes it. */
    static final int INT16 = 6;
    static final int INT32 = 11;
    static final int INT64 = 20;
    static final int FLOAT32 = 15;
    static final int FLOAT64 = 24;
    static final int BOOLEAN = 5;
    /** The longest text of a date/time in PostgreSQL's form, quoted: {@code "0045-03-15 12:00:00.000001+00 BC"}. */
    static final int TEMPORAL_TEXT = 34;

    private SerializedSize() {
    }

    /** The UTF-8 length of {@code s}; a surrogate pair is one 4-byte character. */
    public static int utf8(CharSequence s) {
        int n = s.length();
        int bytes = n;
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c >= 0x80) {
                // 2 bytes below U+0800, 3 above; each half of a surrogate pair counts 2 (4 together).
                bytes += c < 0x800 || Character.isSurrogate(c) ? 1 : 2;
            }
        }
        return bytes;
    }

    /**
     * {@code s} as a JSON string: its UTF-8 bytes, the two quotes, and a backslash before {@code "}
     * and {@code \}; a control character is counted as {@code \}{@code u00XX} (Jackson writes
     * {@code \n}, {@code \t}, … in two bytes: a little high). A character beyond U+FFFF (emoji, rarer
     * CJK) is counted as Jackson writes it, two {@code \}{@code uXXXX} escapes: 12 bytes, where its
     * UTF-8 in Avro takes 4.
     */
    static int jsonString(CharSequence s) {
        int n = s.length();
        int bytes = n + 2;
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                if (c < 0x20) {
                    bytes += 5;
                } else if (c == '"' || c == '\\') {
                    bytes += 1;
                }
            } else if (Character.isSurrogate(c)) {
                bytes += 5;
            } else {
                bytes += c < 0x800 ? 1 : 2;
            }
        }
        return bytes;
    }

    /**
     * A Decimal from its numeric text: JsonConverter writes it as base64 of the unscaled value's
     * two's-complement bytes ({@code decimal.format=BASE64}, its default), which for short numbers
     * is longer than their digits ({@code 5} is {@code "BQ=="}); or as the digits
     * ({@code NUMERIC}). The larger of the two. A number of {@code d} digits needs at most
     * {@code d/2 + 1} bytes (log256(10) is 0.42).
     */
    static int jsonDecimal(String text) {
        return Math.max(jsonString(text), jsonBinary(text.length() / 2 + 1));
    }

    /** {@code length} bytes in base64 between quotes, as JsonConverter writes BYTES. */
    static int jsonBinary(int length) {
        return 4 * ((length + 2) / 3) + 2;
    }

    /**
     * An array from its PostgreSQL text form: the text as a JSON string (its braces and delimiters
     * stand for JSON's brackets and commas), plus two quotes for every element, which array_out
     * leaves bare and JSON quotes when they are strings. Elements whose text form is longer than
     * their Connect value (timestamps, bytea's hex) make this high.
     */
    static int jsonArray(CharSequence text, char delimiter) {
        int elements = 1;
        for (int i = 0, n = text.length(); i < n; i++) {
            if (text.charAt(i) == delimiter) {
                elements++;
            }
        }
        return jsonString(text) + 2 * elements;
    }
}

package dev.pgkeyset.connect.schema;

import java.util.ArrayList;
import java.util.List;

/**
 * Parses PostgreSQL's text form of an array ({@code array_out}): {@code {1,2,NULL}},
 * {@code {{1,2},{3,4}}}, {@code {"a b","say \"hi\"",NULL,"NULL"}}, {@code {}}, and the form with
 * explicit bounds {@code [0:1]={7,8}} (the bounds are dropped: Connect arrays start at 0).
 *
 * <p>Arrays are read in this form on purpose: it is exact for every element type, keeps NULL
 * elements and every dimension, and is the same text a key offset needs to seek back to the row.
 */
final class ArrayLiteral {

    /** The parsed array: nested lists down to the elements, each its text form or null. */
    record Parsed(List<Object> elements, int dimensions) {
    }

    private final String text;
    private final char delimiter;
    private int pos;
    private int dimensions = -1;

    private ArrayLiteral(String text, char delimiter) {
        this.text = text;
        this.delimiter = delimiter;
    }

    /**
     * @param delimiter the element type's {@code typdelim}: ',' for every built-in type but {@code box} (';')
     */
    static Parsed parse(String text, char delimiter) {
        ArrayLiteral parser = new ArrayLiteral(text, delimiter);
        if (text.startsWith("[")) {
            int equals = text.indexOf('=');
            if (equals < 0) {
                throw parser.malformed("bounds without '='");
            }
            parser.pos = equals + 1;
        }
        List<Object> elements = parser.list(1);
        if (parser.pos != text.length()) {
            throw parser.malformed("text after the closing brace");
        }
        return new Parsed(elements, Math.max(parser.dimensions, 0));
    }

    /** Reads {@code {…}} at depth {@code depth} (1 for the outermost braces). */
    private List<Object> list(int depth) {
        expect('{');
        List<Object> items = new ArrayList<>();
        if (peek() == '}') {
            pos++;
            return items;
        }
        while (true) {
            if (peek() == '{') {
                items.add(list(depth + 1));
            } else {
                noteDimensions(depth);
                items.add(element());
            }
            char c = next();
            if (c == '}') {
                return items;
            }
            if (c != delimiter) {
                throw malformed("expected '" + delimiter + "' or '}' at " + (pos - 1));
            }
        }
    }

    private void noteDimensions(int depth) {
        if (dimensions == -1) {
            dimensions = depth;
        } else if (dimensions != depth) {
            throw malformed("elements at different depths");
        }
    }

    /** One element: quoted (backslash escapes), or bare up to the next delimiter or brace; bare NULL is SQL NULL. */
    private String element() {
        StringBuilder value = new StringBuilder();
        if (peek() == '"') {
            pos++;
            while (true) {
                char c = next();
                if (c == '"') {
                    return value.toString();
                }
                value.append(c == '\\' ? next() : c);
            }
        }
        while (peek() != delimiter && peek() != '}') {
            char c = next();
            value.append(c == '\\' ? next() : c);
        }
        String bare = stripArraySpaces(value);
        return isNullWord(bare) ? null : bare;
    }

    /**
     * Removes the whitespace array_in ignores around a bare element: the six ASCII spaces of
     * PostgreSQL's {@code array_isspace} (arrayfuncs.c), never the locale's or Unicode's. Only these
     * make {@code array_out} quote an element, so any other space (U+3000, U+2000–U+200A, U+001C–U+001F,
     * …) is part of the value: {@link String#strip()} would turn {@code \u3000NULL} into SQL NULL.
     */
    private static String stripArraySpaces(CharSequence value) {
        int start = 0;
        int end = value.length();
        while (start < end && isArraySpace(value.charAt(start))) {
            start++;
        }
        while (end > start && isArraySpace(value.charAt(end - 1))) {
            end--;
        }
        return value.subSequence(start, end).toString();
    }

    private static boolean isArraySpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\u000b' || c == '\f';
    }

    /** {@code NULL} in any ASCII case, as array_out's {@code pg_strcasecmp} compares it (no Unicode folding). */
    private static boolean isNullWord(String s) {
        if (s.length() != 4) {
            return false;
        }
        for (int i = 0; i < 4; i++) {
            char c = s.charAt(i);
            char lower = c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c;
            if (lower != "null".charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private char peek() {
        if (pos >= text.length()) {
            throw malformed("unexpected end");
        }
        return text.charAt(pos);
    }

    private char next() {
        char c = peek();
        pos++;
        return c;
    }

    private void expect(char c) {
        if (next() != c) {
            throw malformed("expected '" + c + "' at " + (pos - 1));
        }
    }

    private IllegalArgumentException malformed(String why) {
        return new IllegalArgumentException("Not a PostgreSQL array literal (" + why + "): "
                + (text.length() > 200 ? text.substring(0, 200) + "…" : text));
    }
}

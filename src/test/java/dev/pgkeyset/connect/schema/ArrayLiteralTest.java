package dev.pgkeyset.connect.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;

class ArrayLiteralTest {

    private static ArrayLiteral.Parsed parse(String text) {
        return ArrayLiteral.parse(text, ',');
    }

    @Test
    void oneDimensionWithNulls() {
        ArrayLiteral.Parsed parsed = parse("{1,NULL,3}");
        assertEquals(Arrays.asList("1", null, "3"), parsed.elements());
        assertEquals(1, parsed.dimensions());
    }

    @Test
    void quotedElementsKeepDelimitersBracesQuotesAndBackslashes() {
        assertEquals(Arrays.asList("a b", "c,d", "e\"f", "{g}", "NULL", null, "x\\y", ""),
                parse("{\"a b\",\"c,d\",\"e\\\"f\",\"{g}\",\"NULL\",NULL,\"x\\\\y\",\"\"}").elements());
    }

    @Test
    void nestedArraysKeepTheirShape() {
        ArrayLiteral.Parsed parsed = parse("{{1,2},{NULL,4}}");
        assertEquals(List.of(List.of("1", "2"), Arrays.asList(null, "4")), parsed.elements());
        assertEquals(2, parsed.dimensions());
        assertEquals(3, parse("{{{1}},{{2}}}").dimensions());
    }

    @Test
    void emptyArrayHasNoDimensions() {
        ArrayLiteral.Parsed parsed = parse("{}");
        assertEquals(List.of(), parsed.elements());
        assertEquals(0, parsed.dimensions());
    }

    @Test
    void explicitBoundsAreDropped() {
        assertEquals(List.of("7", "8"), parse("[0:1]={7,8}").elements());
        assertEquals(List.of(List.of("1"), List.of("2")), parse("[0:1][5:5]={{1},{2}}").elements());
    }

    @Test
    void boxArraysUseSemicolons() {
        assertEquals(List.of("(1,1),(0,0)", "(2,2),(1,1)"),
                ArrayLiteral.parse("{(1,1),(0,0);(2,2),(1,1)}", ';').elements());
    }

    @Test
    void malformedTextIsRefusedWithTheText() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse("{1,2"));
        assertEquals(true, e.getMessage().contains("{1,2"));
        assertThrows(IllegalArgumentException.class, () -> parse("{{1},2}"));
        assertThrows(IllegalArgumentException.class, () -> parse("{1} trailing"));
    }

    /** What String.strip() removes beyond array_in's six ASCII spaces, which array_out does not quote. */
    private static final String UNICODE_SPACES = "\u001c\u001d\u001e\u001f\u0085\u00a0\u1680\u2000\u2001\u2002"
            + "\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff";

    @Test
    void bareElementsKeepUnicodeWhitespaceThatArrayOutLeavesUnquoted() {
        for (char c : UNICODE_SPACES.toCharArray()) {
            String hex = String.format("U+%04X", (int) c);
            assertEquals(Arrays.asList(c + "abc", "abc" + c, c + "NULL", "NULL" + c, c + "null" + c),
                    parse("{" + c + "abc,abc" + c + "," + c + "NULL,NULL" + c + "," + c + "null" + c + "}").elements(),
                    hex + " is part of the element, and an element holding it is not NULL");
        }
    }

    @Test
    void onlyArrayInsSixAsciiSpacesAroundBareElementsAreIgnored() {
        // array_in (arrayfuncs.c, array_isspace): ' ', \t, \n, \r, \v, \f — never the locale's isspace().
        assertEquals(Arrays.asList("a", "b c", null, null),
                parse("{ \t\n\r\u000b\fa\f\u000b\r\n\t , b c ,\tNULL\n, nUlL }").elements());
    }
}

package dev.pgkeyset.connect.pg;

import java.util.List;
import java.util.stream.Collectors;

/** The one place where identifiers become SQL text. Nothing else concatenates names into SQL. */
public final class Sql {

    private Sql() {
    }

    /**
     * Quotes an identifier the way PostgreSQL's {@code quote_ident} does when quoting is needed,
     * but always quotes: {@code my "table"} becomes {@code "my ""table"""}. Always quoting keeps
     * case (PostgreSQL folds unquoted names to lower case) and neutralises any character.
     */
    public static String quoteIdentifier(String identifier) {
        if (identifier.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("identifier contains a NUL character");
        }
        return '"' + identifier.replace("\"", "\"\"") + '"';
    }

    /** {@code "a", "b", "c"} */
    public static String quotedList(List<String> identifiers) {
        return identifiers.stream().map(Sql::quoteIdentifier).collect(Collectors.joining(", "));
    }
}

package dev.pgkeyset.connect.tables;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.TableId;

/**
 * Checks that the comparisons of the keyset queries mean the order their {@code ORDER BY} reads.
 *
 * <p>{@code ORDER BY k} sorts by the default btree operator class of k's type, found by type,
 * whatever the {@code search_path}. But {@code (k) > (CAST(? AS public.citext))} and the range
 * bounds ({@code >=}, {@code <}, {@code <=}) find their operator by name through the search_path.
 * When the path does not reach the schema of the type's operators (a role or database path of
 * {@code "$user"}, extensions installed in a schema of their own), PostgreSQL falls back to another
 * operator through an implicit cast: citext is then compared as text, case-sensitively, under a
 * case-insensitive order, and every resumed cursor skips rows without an error. A schema earlier in
 * the path defining an operator of the same name and types does the same. Such a table is refused
 * with the remedy instead.
 *
 * <p>Types whose default operator class is declared for another type (varchar reads text's, enums
 * anyenum's, arrays anyarray's) have their operators in {@code pg_catalog}, which PostgreSQL
 * searches first unless the path names it later; they are not looked at here.
 */
final class KeyOperators {

    /**
     * For each (declared type name, base type) pair: the operators of the base type's default btree
     * class that the keyset SQL uses (strategies 1 {@code <}, 2 {@code <=}, 4 {@code >=}, 5 {@code >})
     * which a lookup by name would not find — not visible in the path, or behind another visible
     * operator of that name taking the declared type. Every name is qualified: the query runs under
     * the very search_path it looks at.
     */
    private static final String HIDDEN_OPERATORS = """
            SELECT c.i, op.oid::pg_catalog.regoperator::pg_catalog.text,
                   (SELECT s.oid::pg_catalog.regoperator::pg_catalog.text FROM pg_catalog.pg_operator s
                     WHERE s.oprname = op.oprname AND s.oprleft = d.declared AND s.oprright = d.declared
                       AND s.oid <> op.oid AND pg_catalog.pg_operator_is_visible(s.oid) LIMIT 1),
                   pg_catalog.current_setting('search_path')
              FROM ROWS FROM (pg_catalog.unnest(CAST(? AS pg_catalog.text[])),
                              pg_catalog.unnest(CAST(? AS pg_catalog.oid[]))) WITH ORDINALITY AS c(type_name, base, i)
             CROSS JOIN LATERAL (SELECT pg_catalog.to_regtype(c.type_name) AS declared) d
              JOIN pg_catalog.pg_opclass oc ON oc.opcintype = c.base AND oc.opcdefault
                   AND oc.opcmethod = (SELECT a.oid FROM pg_catalog.pg_am a WHERE a.amname = 'btree')
              JOIN pg_catalog.pg_amop o ON o.amopfamily = oc.opcfamily AND o.amoplefttype = oc.opcintype
                   AND o.amoprighttype = oc.opcintype AND o.amopstrategy IN (1, 2, 4, 5)
              JOIN pg_catalog.pg_operator op ON op.oid = o.amopopr
             WHERE NOT pg_catalog.pg_operator_is_visible(op.oid)
                OR EXISTS (SELECT FROM pg_catalog.pg_operator s
                            WHERE s.oprname = op.oprname AND s.oprleft = d.declared AND s.oprright = d.declared
                              AND s.oid <> op.oid AND pg_catalog.pg_operator_is_visible(s.oid))
             ORDER BY c.i, o.amopstrategy
            """;

    private KeyOperators() {
    }

    private record Compared(CapturedTable table, String role, ColumnInfo column) {
    }

    /** One problem per table whose key or tracking column would be compared out of its order. */
    static Map<TableId, String> problems(Connection connection, List<CapturedTable> tables) throws SQLException {
        List<Compared> compared = new ArrayList<>();
        for (CapturedTable table : tables) {
            table.key().forEach(c -> compared.add(new Compared(table, "key column", c)));
            table.tracking().ifPresent(c -> compared.add(new Compared(table, "tracking column", c)));
        }
        Map<TableId, String> problems = new LinkedHashMap<>();
        if (compared.isEmpty()) {
            return problems;
        }
        try (PreparedStatement st = connection.prepareStatement(HIDDEN_OPERATORS)) {
            st.setArray(1, connection.createArrayOf("text",
                    compared.stream().map(c -> c.column().typeName()).toArray()));
            st.setArray(2, connection.createArrayOf("oid",
                    compared.stream().map(c -> (long) c.column().typeOid()).toArray()));
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    Compared c = compared.get(rs.getInt(1) - 1);
                    TableId id = c.table().info().id();
                    String shadow = rs.getString(3);
                    problems.putIfAbsent(id, "Table " + id + ": " + c.role() + " " + c.column().name() + " ("
                            + c.column().typeName() + ") is read in the order of operator " + rs.getString(2)
                            + ", which the session's search_path (" + rs.getString(4) + ") "
                            + (shadow == null ? "does not reach" : "hides behind " + shadow)
                            + "; the keyset comparisons would use another operator and skip rows on every resume. "
                            + "Add the operator's schema to the search_path of the connector's role or database "
                            + "(ALTER ROLE ... SET search_path), or to connection.url (options=-c search_path=...), "
                            + "with no schema defining a same-named operator before it");
                }
            }
        }
        return problems;
    }
}

package dev.pgkeyset.connect.tables;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.PgType;
import dev.pgkeyset.connect.pg.Sql;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.schema.PgTypes;

/**
 * money is a count of the locale's smallest unit, and {@code lc_monetary} says how many fraction
 * digits that unit has: 12.34 written under a 2-digit locale is stored as 1234, which a session
 * whose lc_monetary has 0 fraction digits (ja_JP) reads as 1234 and one with 3 (ar_KW) as 1.234.
 * The connector reads money in its session's locale (see SessionOptions). When that locale comes
 * from the connector's own role ({@code ALTER ROLE ... SET lc_monetary}), the writers of the table,
 * who get the database's, may mean other amounts: every value would arrive scaled by a power of
 * ten, without an error. A table with a money column is refused then.
 */
final class MoneyLocale {

    /** Where the session's lc_monetary comes from; 'user' and 'database-user' are the role's own. */
    private static final String SOURCE = """
            SELECT s.setting, s.source FROM pg_catalog.pg_settings s WHERE s.name = 'lc_monetary'
            """;

    /**
     * The fraction digits money has in this session's lc_monetary: cash_numeric rounds to exactly
     * that scale (and, like money_out, takes 2 when the locale's count is out of range).
     */
    private static final String FRACTION_DIGITS = """
            SELECT pg_catalog.scale('0'::pg_catalog.money::pg_catalog.numeric)
            """;

    private MoneyLocale() {
    }

    /**
     * @param wal capture.mode=wal: money also comes from the WAL, as money_out's text under the
     *            replication session's lc_monetary=C (see pg.SessionOptions), which always shows 2
     *            fraction digits of the stored count. Under a locale with another count (ja_JP: 0)
     *            the snapshot's numeric and the WAL's would differ by a power of ten (1234 yen read
     *            as 1234 by the snapshot, $12.34 from the WAL): such a table is refused.
     */
    static Map<TableId, String> problems(Connection connection, List<CapturedTable> tables, boolean wal)
            throws SQLException {
        Map<TableId, String> problems = plainMoney(connection, tables, wal);
        if (wal) {
            moneyInsideComposites(connection, tables).forEach(problems::putIfAbsent);
        }
        return problems;
    }

    /** This session's text of 1234.56 as money, which the replication session (lc_monetary=C) writes as $1,234.56. */
    private static final String MONEY_TEXT = """
            SELECT pg_catalog.text(CAST(CAST('1234.56' AS pg_catalog.numeric) AS pg_catalog.money))
            """;

    /** Whether a type (a composite, at any depth, through arrays and domains) holds money somewhere. */
    private static final String HOLDS_MONEY = """
            WITH RECURSIVE t(oid) AS (
                SELECT CAST(? AS pg_catalog.oid)
                UNION
                SELECT s.x FROM t JOIN pg_catalog.pg_type ty ON ty.oid = t.oid,
                     LATERAL (SELECT a.atttypid FROM pg_catalog.pg_attribute a
                               WHERE a.attrelid = ty.typrelid AND a.attnum > 0 AND NOT a.attisdropped
                              UNION ALL SELECT ty.typelem WHERE ty.typelem <> 0
                              UNION ALL SELECT ty.typbasetype WHERE ty.typbasetype <> 0) s(x)
            )
            SELECT pg_catalog.count(*) > 0 FROM t WHERE t.oid = CAST('pg_catalog.money' AS pg_catalog.regtype)
            """;

    /**
     * capture.mode=wal: money inside a composite travels as the composite's text, in which
     * money_out writes the session's lc_monetary: the snapshot's session has the database's
     * ("1.234,56 €" under de_DE), the replication session C ("$1,234.56"). Where the two differ,
     * a table with such a column is refused (the text cannot be translated back without knowing
     * where in it the amounts are).
     */
    private static Map<TableId, String> moneyInsideComposites(Connection connection, List<CapturedTable> tables)
            throws SQLException {
        Map<TableId, String> problems = new LinkedHashMap<>();
        Map<TableId, ColumnInfo> composite = new LinkedHashMap<>();
        for (CapturedTable table : tables) {
            for (ColumnInfo column : table.info().columns()) {
                PgType type = column.type().isArray() ? column.type().element() : column.type();
                if (type.typtype() == 'c' && holdsMoney(connection, type.oid())) {
                    composite.putIfAbsent(table.info().id(), column);
                }
            }
        }
        if (composite.isEmpty()) {
            return problems;
        }
        String text;
        try (PreparedStatement st = connection.prepareStatement(MONEY_TEXT); ResultSet rs = st.executeQuery()) {
            rs.next();
            text = rs.getString(1);
        }
        if (!"$1,234.56".equals(text)) {
            composite.forEach((id, column) -> problems.put(id, "Table " + id + ": column " + column.name() + " of type "
                    + column.typeName() + " holds money, which capture.mode=wal would send as '$1,234.56' where the "
                    + "snapshot sends this database's '" + text + "' (lc_monetary): the records would differ. Change "
                    + "the money inside the type to numeric, exclude the table, or capture it with capture.mode=query"));
        }
        return problems;
    }

    private static boolean holdsMoney(Connection connection, int typeOid) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement(HOLDS_MONEY)) {
            st.setLong(1, typeOid & 0xFFFFFFFFL);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    private static Map<TableId, String> plainMoney(Connection connection, List<CapturedTable> tables, boolean wal)
            throws SQLException {
        Map<TableId, String> problems = new LinkedHashMap<>();
        Map<TableId, ColumnInfo> withMoney = new LinkedHashMap<>();
        for (CapturedTable table : tables) {
            moneyColumn(table).ifPresent(c -> withMoney.put(table.info().id(), c));
        }
        if (withMoney.isEmpty()) {
            return problems;
        }
        String setting;
        String source;
        try (PreparedStatement st = connection.prepareStatement(SOURCE); ResultSet rs = st.executeQuery()) {
            if (!rs.next()) {
                return problems;
            }
            setting = rs.getString(1);
            source = rs.getString(2);
        }
        if (wal) {
            int digits;
            try (PreparedStatement st = connection.prepareStatement(FRACTION_DIGITS); ResultSet rs = st.executeQuery()) {
                rs.next();
                digits = rs.getInt(1);
            }
            if (digits != 2) {
                withMoney.forEach((id, column) -> problems.put(id, "Table " + id + ": money column " + column.name()
                        + " cannot be captured with capture.mode=wal under lc_monetary '" + setting + "' ("
                        + digits + " fraction digits): the WAL carries money as text with 2 fraction digits, so "
                        + "its amounts would differ from the snapshot's by a power of ten. Change the column to "
                        + "numeric (ALTER TABLE " + id.quoted() + " ALTER COLUMN " + Sql.quoteIdentifier(column.name())
                        + " TYPE numeric), exclude the table, or capture it "
                        + "with capture.mode=query"));
                return problems;
            }
        }
        if (!"user".equals(source) && !"database-user".equals(source)) {
            return problems;
        }
        withMoney.forEach((id, column) -> problems.put(id, "Table " + id + ": money column " + column.name()
                + " would be read under lc_monetary '" + setting + "', which the connector's role sets for itself, "
                + "while the table's writers use the database's: amounts whose locales have other fraction digits "
                + "would arrive scaled by a power of ten. Remove the role's setting (ALTER ROLE ... RESET "
                + "lc_monetary) or set it on the database; to read in a locale on purpose, give it in "
                + "connection.url (options=-c lc_monetary=...)"));
        return problems;
    }

    private static Optional<ColumnInfo> moneyColumn(CapturedTable table) {
        return table.info().columns().stream().filter(c -> isMoney(c.type())).findFirst();
    }

    private static boolean isMoney(PgType type) {
        return type.oid() == PgTypes.MONEY || (type.isArray() && type.element().oid() == PgTypes.MONEY);
    }
}

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

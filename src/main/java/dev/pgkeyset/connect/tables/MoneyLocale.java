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

    private MoneyLocale() {
    }

    static Map<TableId, String> problems(Connection connection, List<CapturedTable> tables) throws SQLException {
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

package dev.pgkeyset.connect.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.RestartingReader;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * A money key is read as numeric ({@code 1234.57}) and its offset holds that text; money's own
 * input function parses text under {@code lc_monetary}, where a locale such as de_DE takes '.' for
 * its thousands separator: {@code CAST('1234.57' AS money)} is 123.457,00 €. A resumed cursor then
 * seeks far past its position and skips rows silently. Every row must arrive, in PostgreSQL's order,
 * with the value PostgreSQL gives as numeric, whatever lc_monetary the database sets.
 *
 * <p>Needs a non-C locale with another decimal separator on the server (de_DE.UTF-8, or one of the
 * others listed); skipped, saying so, where none is installed.
 */
class MoneyKeyLocaleIT {

    /** Locales whose monetary decimal point is ',' and thousands separator '.' (or ' '). */
    private static final String[] COMMA_DECIMAL_LOCALES = {"de_DE.UTF-8", "de_DE.utf8", "nl_NL.UTF-8",
        "es_ES.UTF-8", "it_IT.UTF-8"};

    /** Locales whose money has no fraction digits. */
    private static final String[] NO_FRACTION_LOCALES = {"ja_JP.UTF-8", "ja_JP.utf8", "ko_KR.UTF-8"};

    private TestDatabase db;
    private final String role = "i13adv_money_" + Long.toHexString(System.nanoTime() & 0xffffffL);

    @BeforeEach
    void setUp() {
        db = PostgresFixture.createDatabase("money_locale");
    }

    @AfterEach
    void tearDown() throws SQLException {
        try {
            db.close();
        } finally {
            try (Connection admin = java.sql.DriverManager.getConnection(
                    PostgresFixture.server().jdbcUrl("postgres"), PostgresFixture.server().user(),
                    PostgresFixture.server().password()); Statement st = admin.createStatement()) {
                st.execute("DROP ROLE IF EXISTS " + role);
            }
        }
    }

    /**
     * The connector's role reads money under a 0-digit locale of its own, while the table was
     * written under the database's (2 digits): either each amount arrives as the writers' session
     * gives it as numeric (12.34), or the table is refused with an error naming it and lc_monetary.
     */
    @Test
    void moneyUnderALcMonetaryOfTheConnectorsRoleAlone() throws Exception {
        String locale = firstAccepted(NO_FRACTION_LOCALES);
        Assumptions.assumeTrue(locale != null, "no locale without fraction digits installed on the server");
        db.execute("CREATE TABLE amounts (id int PRIMARY KEY, m money NOT NULL)",
                "INSERT INTO amounts SELECT g, (g + 0.34)::numeric::money FROM generate_series(1, 5) g",
                "CREATE ROLE " + role + " LOGIN", "GRANT USAGE ON SCHEMA public TO " + role,
                "GRANT SELECT ON amounts TO " + role,
                "ALTER ROLE " + role + " SET lc_monetary = '" + locale + "'");
        // The amounts as the writers' sessions (the database's lc_monetary) give them.
        List<Object> expected = column("SELECT m::numeric::text FROM amounts ORDER BY id");
        Map<String, String> props = db.connectorConfig("a", "public\\.amounts");
        props.put("connection.user", role);
        props.remove("connection.password");
        props.put("numeric.mapping", "string");
        List<SourceRecord> records;
        try {
            records = RestartingReader.readAll(props, poll -> false, poll -> 0L, 100);
        } catch (org.apache.kafka.connect.errors.ConnectException refused) {
            System.out.println("refused: " + refused.getMessage());
            assertTrue(refused.getMessage().contains("public.amounts") && refused.getMessage().contains("lc_monetary")
                    && refused.getMessage().contains("column m"), refused.getMessage());
            return;
        }
        assertEquals(expected, RestartingReader.valueField(records, "m"), "each amount as its writers wrote it");
    }

    /** The first locale the server accepts for lc_monetary, or null. */
    private String firstAccepted(String[] locales) throws SQLException {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            for (String locale : locales) {
                try {
                    st.execute("SET lc_monetary = '" + locale + "'");
                    return locale;
                } catch (SQLException notInstalled) {
                    // try the next
                }
            }
        }
        return null;
    }

    /** The first locale the server accepts for lc_monetary, or null. */
    private String commaDecimalLocale() throws SQLException {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            for (String locale : COMMA_DECIMAL_LOCALES) {
                try {
                    st.execute("SET lc_monetary = '" + locale + "'");
                    return locale;
                } catch (SQLException notInstalled) {
                    // try the next
                }
            }
        }
        return null;
    }

    private List<Object> column(String sql) throws Exception {
        List<Object> values = new ArrayList<>();
        try (Connection c = db.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                values.add(rs.getObject(1));
            }
        }
        return values;
    }

    @Test
    void moneyKeyResumesUnderACommaDecimalLcMonetary() throws Exception {
        String locale = commaDecimalLocale();
        Assumptions.assumeTrue(locale != null, "no comma-decimal locale installed on the server (tried "
                + String.join(", ", COMMA_DECIMAL_LOCALES) + ")");
        db.execute("ALTER DATABASE " + db.name() + " SET lc_monetary = '" + locale + "'",
                "CREATE TABLE m (k money PRIMARY KEY, rid int NOT NULL)");
        // Values typed as numeric, so their meaning does not depend on the locale of this session.
        db.execute("INSERT INTO m SELECT v::numeric::money, r FROM (VALUES (-3.25, 1), (1.00, 2), (2.50, 3),"
                + " (1234.57, 4), (1234.58, 5), (1000000.01, 6), (0.01, 7)) AS v(v, r)");
        Map<String, String> props = db.connectorConfig("m", "public\\.m");
        props.put("batch.max.rows", "1");
        props.put("numeric.mapping", "string");
        List<Object> expectedRids = column("SELECT rid FROM m ORDER BY k");
        // Bounded: a resume before the position repeats rows for ever.
        List<SourceRecord> records = RestartingReader.readAll(props, poll -> true, poll -> 0L,
                3 * expectedRids.size());
        assertEquals(expectedRids, RestartingReader.valueField(records, "rid"),
                "every row once, in money's order, restarted after each row (lc_monetary " + locale + ")");
        assertEquals(column("SELECT k::numeric::text FROM m ORDER BY m.k"), RestartingReader.valueField(records, "k"),
                "each value as PostgreSQL gives it as numeric");
    }
}

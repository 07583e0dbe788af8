package dev.pgkeyset.connect.config;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigValue;
import org.apache.kafka.connect.errors.ConnectException;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.PgKeysetSourceConnector;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * Thousands of tables that cannot be captured (no primary key): the validation answer and the
 * start error name the first few and count them all, instead of growing with the database
 * (465,786 and 471,784 characters for 3,000 tables before).
 */
class ManyProblemsIT {

    private static final int TABLES = 3_000;
    /** Five problems of ~200 characters and a count: far below this whatever the table names. */
    private static final int BOUND = 4_000;

    @Test
    void thousandsOfTablesWithoutAKeyGiveShortMessages() {
        TestDatabase db = PostgresFixture.createDatabase("many_problems");
        try {
            db.execute("DO $$ BEGIN FOR i IN 1.." + TABLES + " LOOP "
                    + "EXECUTE format('CREATE TABLE a_table_without_any_primary_key_%s (v int)', i); END LOOP; END $$",
                    "CREATE TABLE keyed (id int PRIMARY KEY)");
            long withoutKey = db.queryLong("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    + " WHERE n.nspname = 'public' AND c.relkind = 'r' AND NOT EXISTS (SELECT 1 FROM pg_index i"
                    + " WHERE i.indrelid = c.oid AND i.indisprimary)");
            String count = String.format(Locale.ROOT, "%,d in all", withoutKey);
            Map<String, String> props = db.connectorConfig("many", "public\\..*");

            Config validation = new PgKeysetSourceConnector().validate(props);
            List<String> errors = validation.configValues().stream()
                    .filter(v -> v.name().equals(PgKeysetConfig.TABLE_INCLUDE_LIST))
                    .map(ConfigValue::errorMessages).findFirst().orElseThrow();
            int length = errors.stream().mapToInt(String::length).sum();
            System.out.printf("%d tables without a key: validation %d messages, %d characters%n", withoutKey,
                    errors.size(), length);
            assertTrue(length < BOUND, "validation messages of " + length + " characters");
            assertTrue(String.join(" ", errors).contains(count), "the count is named: " + errors);
            assertTrue(errors.get(0).contains("has no primary key"), "the first problems are named: " + errors.get(0));

            PgKeysetSourceConnector connector = new PgKeysetSourceConnector();
            ConnectException e = assertThrows(ConnectException.class, () -> connector.start(props));
            connector.stop();
            System.out.printf("%d tables without a key: start error of %d characters%n", withoutKey,
                    e.getMessage().length());
            assertTrue(e.getMessage().length() < BOUND, "a start error of " + e.getMessage().length() + " characters");
            assertTrue(e.getMessage().contains(count), "the count is named: " + e.getMessage());
        } finally {
            db.close();
        }
    }
}

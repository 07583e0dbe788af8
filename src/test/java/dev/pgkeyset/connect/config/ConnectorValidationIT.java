package dev.pgkeyset.connect.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.apache.kafka.connect.runtime.rest.entities.ConfigInfo;
import org.apache.kafka.connect.runtime.rest.entities.ConfigInfos;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.pgkeyset.connect.PgKeysetSourceConnector;
import dev.pgkeyset.connect.testing.ConnectFixture;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;

/** Bad configurations, validated over the worker's REST API: each error lands on the key to change. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConnectorValidationIT {

    private TestDatabase db;
    private EmbeddedConnectCluster connect;

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("validation");
        db.execute("CREATE TABLE orders (id int PRIMARY KEY, note text, changed timestamptz)",
                "CREATE TABLE loose (code text, note text)");
        connect = ConnectFixture.start("validation");
    }

    @AfterAll
    void tearDown() {
        ConnectFixture.stopAll(connect, db);
    }

    private Map<String, String> valid() {
        Map<String, String> config = db.connectorConfig("v", "public\\.orders");
        config.put("name", "validation-sample");
        config.put("connection.password", "not-the-real-one-but-secret");
        return config;
    }

    /** Key -> its error messages, for the keys that have errors. */
    private Map<String, List<String>> errors(Map<String, String> config) {
        ConfigInfos infos = connect.validateConnectorConfig(PgKeysetSourceConnector.class.getSimpleName(), config);
        return infos.configs().stream().map(ConfigInfo::configValue)
                .filter(v -> !v.errors().isEmpty())
                .collect(Collectors.toMap(v -> v.name(), v -> v.errors()));
    }

    private void assertOnlyErrorOn(String key, String fragment, Map<String, String> config) {
        Map<String, List<String>> errors = errors(config);
        assertEquals(List.of(key), List.copyOf(errors.keySet()), "errors: " + errors);
        assertTrue(errors.get(key).stream().anyMatch(m -> m.contains(fragment)), key + ": " + errors.get(key));
    }

    @Test
    void aValidConfigHasNoErrors() {
        Map<String, String> config = valid();
        config.remove("connection.password"); // trust authentication here
        assertEquals(Map.of(), errors(config));
    }

    @Test
    void badUrlIsReportedOnTheUrl() {
        Map<String, String> config = valid();
        config.put("connection.url", "jdbc:mysql://localhost/shop");
        assertOnlyErrorOn("connection.url", "jdbc:postgresql", config);
    }

    @Test
    void unreachableServerIsReportedOnTheUrl() {
        Map<String, String> config = valid();
        config.put("connection.url", "jdbc:postgresql://127.0.0.1:1/" + db.name());
        assertOnlyErrorOn("connection.url", "Could not connect", config);
    }

    @Test
    void missingDatabaseIsReportedOnTheUrl() {
        Map<String, String> config = valid();
        config.put("connection.url", db.jdbcUrl().replace(db.name(), "no_such_db_pgkeyset"));
        assertOnlyErrorOn("connection.url", "no_such_db_pgkeyset", config);
    }

    @Test
    void wrongCredentialsAreReportedOnTheUserAndPassword() {
        // Trust authentication here, so an unknown user stands for wrong credentials: SQLState 28000.
        Map<String, String> config = valid();
        config.put("connection.user", "no_such_user_pgkeyset");
        Map<String, List<String>> errors = errors(config);
        assertEquals(java.util.Set.of("connection.user", "connection.password"), errors.keySet(), "errors: " + errors);
        assertTrue(errors.get("connection.user").get(0).contains("no_such_user_pgkeyset")
                && errors.get("connection.user").get(0).contains("28"), errors.toString());
        assertFalse(errors.toString().contains("not-the-real-one-but-secret"), "the password is never echoed");
    }

    @Test
    void includeListMatchingNothingIsReported() {
        Map<String, String> config = valid();
        config.put("table.include.list", "public\\.nothing_.*");
        assertOnlyErrorOn("table.include.list", "No table", config);
    }

    @Test
    void tableWithoutKeyIsReportedNamingIt() {
        Map<String, String> config = valid();
        config.put("table.include.list", "public\\..*");
        assertOnlyErrorOn("table.include.list", "public.loose", config);
    }

    @Test
    void keyColumnsNamingAMissingColumnIsReported() {
        Map<String, String> config = valid();
        config.put("table.include.list", "public\\.loose");
        config.put("key.columns", "public.loose:nope");
        assertOnlyErrorOn("key.columns", "'nope'", config);
    }

    @Test
    void outOfRangeNumbersAreReportedOnTheirKeys() {
        Map<String, String> config = valid();
        config.put("fetch.size", "0");
        config.put("batch.max.bytes", "12");
        Map<String, List<String>> errors = errors(config);
        assertEquals(java.util.Set.of("fetch.size", "batch.max.bytes"), errors.keySet(), errors.toString());
    }

    @Test
    void followingChangesNeedsAnOrderableTrackingColumn() {
        Map<String, String> config = valid();
        config.put("snapshot.mode", "initial");
        assertOnlyErrorOn("incremental.columns", "has no tracking column", config);
        config.put("incremental.columns", "public.orders:note");
        assertOnlyErrorOn("incremental.columns", "cannot track changes", config);
        config.put("incremental.columns", "public.orders:nope");
        assertOnlyErrorOn("incremental.columns", "no column 'nope'", config);
        config.put("incremental.columns", "public.orders:changed");
        config.remove("connection.password");
        assertEquals(Map.of(), errors(config));
    }

    @Test
    void followingChangesWithoutSeeingOtherSessionsIsRefusedOnTheUser() {
        String role = "pgkeyset_plain_" + Long.toHexString(System.nanoTime());
        db.execute("CREATE ROLE " + role + " LOGIN", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + role);
        try {
            Map<String, String> config = valid();
            config.remove("connection.password");
            config.put("connection.user", role);
            config.put("snapshot.mode", "initial");
            config.put("incremental.columns", "public.orders:changed");
            assertOnlyErrorOn("connection.user", "pg_read_all_stats", config);
            db.execute("GRANT pg_read_all_stats TO " + role);
            assertEquals(Map.of(), errors(config));
            config.put("snapshot.mode", "initial_only");
            db.execute("REVOKE pg_read_all_stats FROM " + role);
            assertEquals(Map.of(), errors(config), "a snapshot alone needs no such privilege");
        } finally {
            db.execute("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM " + role, "DROP ROLE " + role);
        }
    }

    @Test
    void moreConnectionsThanTheRoleMayOpenAreReportedOnTasksMaxThroughTheWorker() {
        String role = "pgkeyset_limited_" + Long.toHexString(System.nanoTime());
        db.execute("CREATE ROLE " + role + " LOGIN CONNECTION LIMIT 1",
                "GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + role);
        try {
            Map<String, String> config = valid();
            config.remove("connection.password");
            config.put("connection.user", role);
            // One task and the connector's own connection: two, against a limit of one.
            assertOnlyErrorOn("tasks.max", "CONNECTION LIMIT 1", config);
        } finally {
            db.execute("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM " + role, "DROP ROLE " + role);
        }
    }

    @Test
    void unknownModeIsRefusedListingTheChoices() {
        Map<String, String> config = valid();
        config.put("snapshot.mode", "whenever");
        assertOnlyErrorOn("snapshot.mode", "initial, initial_only, never", config);
    }

    @Test
    void thePasswordNeverComesBack() {
        ConfigInfos infos = connect.validateConnectorConfig(PgKeysetSourceConnector.class.getSimpleName(), valid());
        assertFalse(infos.toString().contains("not-the-real-one-but-secret"), "password echoed: " + infos);
    }
}

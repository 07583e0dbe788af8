package dev.pgkeyset.connect.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.kafka.common.config.ConfigValue;
import org.apache.kafka.connect.errors.ConnectException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.pgkeyset.connect.PgKeysetSourceConnector;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * capture.mode=wal validation against a real database: each bad setup that can be made real here
 * (a role without REPLICATION, replica identities that cannot key a table, a partition that spoils
 * its parent, views, a publication that lacks a table, slots of another plugin or database,
 * tasks.max=2) is reported on its key, and running the SQL the message names clears it. The
 * server-wide facts (wal_level, max_replication_slots) are covered by {@link WalSetupChecksTest}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WalValidationIT {

    /** The ALTER TABLE a replica identity message offers first (FULL) and the USING INDEX one. */
    private static final Pattern FULL = Pattern.compile("ALTER TABLE \"[^\"]+\"\\.\"[^\"]+\" REPLICA IDENTITY FULL");
    private static final Pattern USING_INDEX =
            Pattern.compile("ALTER TABLE \"[^\"]+\"\\.\"[^\"]+\" REPLICA IDENTITY USING INDEX \"[^\"]+\"");

    private TestDatabase db;
    private final String suffix = Long.toHexString(System.nanoTime());

    @BeforeAll
    void setUp() {
        db = PostgresFixture.createDatabase("walcfg");
        db.execute("CREATE TABLE orders (id int PRIMARY KEY, note text)",
                "CREATE TABLE nothing_t (id int PRIMARY KEY, note text)",
                "ALTER TABLE nothing_t REPLICA IDENTITY NOTHING",
                "CREATE TABLE nopk (code text NOT NULL, note text)",
                "CREATE UNIQUE INDEX nopk_code_key ON nopk (code)",
                "CREATE TABLE mismatch (id int PRIMARY KEY, code text NOT NULL UNIQUE, note text)",
                "CREATE TABLE parted (id int, k int, note text, PRIMARY KEY (id, k)) PARTITION BY RANGE (k)",
                "CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (10)",
                "CREATE TABLE parted_2 PARTITION OF parted FOR VALUES FROM (10) TO (20)",
                "ALTER TABLE parted_2 REPLICA IDENTITY NOTHING",
                "CREATE VIEW orders_view AS SELECT * FROM orders",
                "CREATE MATERIALIZED VIEW orders_matview AS SELECT * FROM orders");
    }

    @AfterAll
    void tearDown() {
        db.close();
    }

    private Map<String, String> wal(String includeList) {
        Map<String, String> config = db.connectorConfig("w", includeList);
        config.put("name", "walcfg-" + suffix);
        config.put("capture.mode", "wal");
        config.put("snapshot.mode", "initial");
        return config;
    }

    /** Key -> its error messages, for the keys that have errors (in-thread, as the worker calls it). */
    private static Map<String, List<String>> errors(Map<String, String> config) {
        Map<String, List<String>> errors = new LinkedHashMap<>();
        for (ConfigValue value : new PgKeysetSourceConnector().validate(config).configValues()) {
            if (!value.errorMessages().isEmpty()) {
                errors.put(value.name(), value.errorMessages());
            }
        }
        return errors;
    }

    /** The one error of the one key that has errors, checked for each fragment. */
    private static String onlyError(String key, Map<String, String> config, String... fragments) {
        Map<String, List<String>> errors = errors(config);
        assertEquals(List.of(key), List.copyOf(errors.keySet()), "errors: " + errors);
        assertEquals(1, errors.get(key).size(), "errors: " + errors);
        String message = errors.get(key).get(0);
        for (String fragment : fragments) {
            assertTrue(message.contains(fragment), "'" + fragment + "' not in: " + message);
        }
        return message;
    }

    private static String find(Pattern pattern, String message) {
        Matcher m = pattern.matcher(message);
        assertTrue(m.find(), pattern + " not in: " + message);
        return m.group();
    }

    @Test
    void aTableWithAPrimaryKeyNeedsNoTrackingColumn() {
        Map<String, String> config = wal("public\\.orders|public\\.parted");
        db.execute("ALTER TABLE parted_2 REPLICA IDENTITY DEFAULT");
        try {
            assertEquals(Map.of(), errors(config), "no tracking column, no index, no pg_read_all_stats");
        } finally {
            db.execute("ALTER TABLE parted_2 REPLICA IDENTITY NOTHING");
        }
    }

    @Test
    void replicaIdentityNothingIsRefusedAndTheAlterItNamesFixesIt() throws SQLException {
        Map<String, String> config = wal("public\\.nothing_t");
        String message = onlyError("table.include.list", config, "Table public.nothing_t has REPLICA IDENTITY NOTHING",
                "refuses every UPDATE and DELETE", "ALTER TABLE \"public\".\"nothing_t\" REPLICA IDENTITY FULL",
                "REPLICA IDENTITY USING INDEX \"nothing_t_pkey\"");
        // What the message says of PostgreSQL, asked of PostgreSQL: a published table without identity refuses updates.
        String probe = "walcfg_probe_" + suffix;
        db.execute("INSERT INTO nothing_t VALUES (1, 'a')", "CREATE PUBLICATION " + probe + " FOR TABLE nothing_t");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            SQLException refused = assertThrows(SQLException.class, () -> st.execute("UPDATE nothing_t SET note = 'b'"));
            assertTrue(refused.getMessage().contains("replica identity"), refused.getMessage());
            st.execute(find(USING_INDEX, message));
            st.execute("UPDATE nothing_t SET note = 'b'");
            assertEquals(Map.of(), errors(config), "the USING INDEX the message names clears it");
        } finally {
            db.execute("DROP PUBLICATION " + probe, "ALTER TABLE nothing_t REPLICA IDENTITY NOTHING",
                    "DELETE FROM nothing_t");
        }
    }

    @Test
    void defaultWithoutPrimaryKeyIsRefusedNamingTheUniqueIndex() {
        Map<String, String> config = wal("public\\.nopk");
        config.put("key.columns", "public.nopk:code");
        String message = onlyError("table.include.list", config,
                "Table public.nopk has REPLICA IDENTITY DEFAULT but no primary key",
                "ALTER TABLE \"public\".\"nopk\" REPLICA IDENTITY FULL",
                "ALTER TABLE \"public\".\"nopk\" REPLICA IDENTITY USING INDEX \"nopk_code_key\"");
        db.execute(find(FULL, message));
        try {
            assertEquals(Map.of(), errors(config), "REPLICA IDENTITY FULL clears it");
        } finally {
            db.execute("ALTER TABLE nopk REPLICA IDENTITY DEFAULT");
        }
    }

    @Test
    void keyColumnsThatAreNotTheReplicaIdentityAreReportedOnKeyColumns() {
        Map<String, String> config = wal("public\\.mismatch");
        config.put("key.columns", "public.mismatch:code");
        String message = onlyError("key.columns", config, "key.columns: Table public.mismatch is keyed by (code) "
                + "(key.columns) but its replica identity is its primary key (id)", "'public.mismatch:id'");
        db.execute(find(USING_INDEX, message));
        try {
            assertEquals(Map.of(), errors(config), "the identity index on the key clears it");
        } finally {
            db.execute("ALTER TABLE mismatch REPLICA IDENTITY DEFAULT");
        }
        config.put("key.columns", "public.mismatch:id");
        assertEquals(Map.of(), errors(config), "keyed by its replica identity");
    }

    @Test
    void aPartitionedTableIsRefusedForItsBadPartitionNamingThePartition() {
        Map<String, String> config = wal("public\\.parted");
        String message = onlyError("table.include.list", config,
                "Partition public.parted_2 of table public.parted has REPLICA IDENTITY NOTHING",
                "ALTER TABLE \"public\".\"parted_2\" REPLICA IDENTITY FULL");
        assertFalse(message.contains("parted_1"), message);
        db.execute(find(FULL, message));
        try {
            assertEquals(Map.of(), errors(config));
        } finally {
            db.execute("ALTER TABLE parted_2 REPLICA IDENTITY NOTHING");
        }
    }

    @Test
    void viewsAndMaterializedViewsCannotBeCaptured() {
        Map<String, String> config = wal("public\\.orders_view|public\\.orders_matview");
        config.put("key.columns", "public.orders_view:id,public.orders_matview:id");
        List<String> messages = errors(config).get("table.include.list");
        assertEquals(2, messages.size(), String.valueOf(messages));
        assertTrue(messages.get(0).contains("Table public.orders_matview is a materialized view: capture.mode=wal reads "
                + "changes from the WAL through a publication"), messages.get(0));
        assertTrue(messages.get(1).contains("Table public.orders_view is a view:"), messages.get(1));
        config.put("capture.mode", "query");
        config.put("snapshot.mode", "initial_only");
        assertEquals(Map.of(), errors(config), "query mode still reads views");
    }

    @Test
    void moreThanOneTaskAndASoftDeleteColumnAreRefused() {
        Map<String, String> config = wal("public\\.orders");
        config.put("tasks.max", "2");
        onlyError("tasks.max", config, "capture.mode=wal streams one slot from one task; set tasks.max=1 (found 2)");
        config.remove("tasks.max");
        config.put("soft.delete.column", "note");
        onlyError("soft.delete.column", config, "soft.delete.column is for capture.mode=query");
        config.put("name", "walcfg-start-" + suffix);
        PgKeysetSourceConnector connector = new PgKeysetSourceConnector();
        ConnectException e = assertThrows(ConnectException.class, () -> connector.start(config));
        connector.stop();
        assertTrue(e.getMessage().contains("soft.delete.column is for capture.mode=query"), e.getMessage());
    }

    @Test
    void aRoleWithoutReplicationOrRightsOnThePublicationIsToldWhatToGrant() {
        String role = "walcfg_role_" + suffix;
        db.execute("CREATE ROLE " + role + " LOGIN", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + role);
        try {
            Map<String, String> config = wal("public\\.orders");
            config.put("connection.user", role);
            config.remove("connection.password");
            Map<String, List<String>> errors = errors(config);
            assertEquals(Set.of("connection.user", "publication.autocreate"), errors.keySet(), "errors: " + errors);
            assertTrue(errors.get("connection.user").get(0).contains("Role " + role + " may not replicate")
                    && errors.get("connection.user").get(0).contains("ALTER ROLE \"" + role + "\" REPLICATION"),
                    errors.toString());
            String publication = errors.get("publication.autocreate").toString();
            assertTrue(publication.contains("GRANT CREATE ON DATABASE \"" + db.name() + "\" TO \"" + role + "\"")
                    && publication.contains("does not own table(s) public.orders"), publication);

            db.execute("ALTER ROLE " + role + " REPLICATION", "GRANT CREATE ON DATABASE " + db.name() + " TO " + role,
                    "ALTER TABLE orders OWNER TO " + role);
            assertEquals(Map.of(), errors(config), "after the grants the messages name");

            db.execute("ALTER ROLE " + role + " NOREPLICATION");
            config.put("snapshot.mode", "initial_only");
            assertEquals(Map.of(), errors(config), "a snapshot alone streams nothing: no REPLICATION needed");
        } finally {
            db.execute("ALTER TABLE orders OWNER TO CURRENT_USER", "REVOKE CREATE ON DATABASE " + db.name() + " FROM "
                    + role, "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM " + role, "DROP ROLE " + role);
        }
    }

    @Test
    void aPublicationThatLacksATableIsReportedWhenTheConnectorDoesNotManageIt() {
        String publication = "walcfg_pub_" + suffix;
        Map<String, String> config = wal("public\\.orders|public\\.mismatch");
        config.put("publication.name", publication);
        config.put("publication.autocreate", "disabled");
        onlyError("publication.name", config, "Publication '" + publication + "' does not exist",
                "CREATE PUBLICATION \"" + publication + "\" FOR TABLE \"public\".\"mismatch\", \"public\".\"orders\"");
        db.execute("CREATE PUBLICATION " + publication + " FOR TABLE mismatch WITH (publish = 'insert, update')");
        try {
            Map<String, List<String>> errors = errors(config);
            assertEquals(List.of("publication.name"), List.copyOf(errors.keySet()), "errors: " + errors);
            assertEquals(2, errors.get("publication.name").size(), errors.toString());
            assertTrue(errors.get("publication.name").get(0).contains("does not publish delete, truncate"), errors
                    .toString());
            assertTrue(errors.get("publication.name").get(1).contains("does not publish captured table(s) public.orders")
                    && errors.get("publication.name").get(1).contains("ALTER PUBLICATION \"" + publication
                    + "\" ADD TABLE \"public\".\"orders\""), errors.toString());
            db.execute("ALTER PUBLICATION " + publication + " ADD TABLE orders",
                    "ALTER PUBLICATION " + publication + " SET (publish = 'insert, update, delete, truncate')");
            assertEquals(Map.of(), errors(config));
        } finally {
            db.execute("DROP PUBLICATION IF EXISTS " + publication);
        }
    }

    @Test
    void aPublicationOfSomeColumnsOrRowsOrOfPartitionsIsReported() {
        String publication = "walcfg_pub2_" + suffix;
        db.execute("CREATE TABLE events (id int, k int, PRIMARY KEY (id, k)) PARTITION BY RANGE (k)",
                "CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM (0) TO (10)",
                "CREATE PUBLICATION " + publication + " FOR TABLE orders (id) WHERE (id > 10), events");
        try {
            Map<String, String> config = wal("public\\.orders|public\\.events");
            config.put("publication.name", publication);
            config.put("publication.autocreate", "disabled");
            List<String> messages = errors(config).get("publication.name");
            assertEquals(3, messages.size(), String.valueOf(errors(config)));
            assertTrue(messages.get(0).contains("publishes partitioned table(s) public.events partition by partition")
                    && messages.get(0).contains("SET (publish_via_partition_root = true)"), messages.get(0));
            assertTrue(messages.get(1).contains("only some columns of table public.orders (a column list), without "
                    + "note"), messages.get(1));
            assertTrue(messages.get(2).contains("only the rows of table public.orders WHERE (id > 10)"), messages.get(2));
            db.execute("ALTER PUBLICATION " + publication + " SET (publish_via_partition_root = true)",
                    "ALTER PUBLICATION " + publication + " DROP TABLE orders",
                    "ALTER PUBLICATION " + publication + " ADD TABLE orders");
            assertEquals(Map.of(), errors(config), "the whole table, the partitions through their root");
        } finally {
            db.execute("DROP PUBLICATION IF EXISTS " + publication, "DROP TABLE events");
        }
    }

    @Test
    void aConnectorManagedPublicationIsAcceptedWhateverItsOptionsAsTheTaskRewritesThem() {
        // publication.autocreate=filtered: the task sets the tables (whole) and the options of an
        // existing publication it owns, so validate() must not refuse what the task would fix.
        String publication = "walcfg_pub3_" + suffix;
        db.execute("CREATE PUBLICATION " + publication + " FOR TABLE orders (id) WHERE (id > 10)"
                + " WITH (publish = 'insert', publish_via_partition_root = false)");
        try {
            Map<String, String> config = wal("public\\.orders");
            config.put("publication.name", publication);
            config.put("publication.autocreate", "filtered");
            assertEquals(Map.of(), errors(config));
            config.put("publication.autocreate", "disabled");
            assertEquals(3, errors(config).get("publication.name").size(),
                    "the same publication as the user's: operations, column list, row filter: " + errors(config));
        } finally {
            db.execute("DROP PUBLICATION IF EXISTS " + publication);
        }
    }

    @Test
    void aKeyWithAGeneratedColumnIsRefusedNamingIt() {
        db.execute("CREATE TABLE genkey (a int NOT NULL, b int GENERATED ALWAYS AS (a * 2) STORED PRIMARY KEY)",
                "ALTER TABLE genkey REPLICA IDENTITY FULL");
        try {
            onlyError("table.include.list", wal("public\\.genkey"),
                    "Table public.genkey is keyed by (b), which includes the generated column(s) (b)",
                    "capture.mode=query");
        } finally {
            db.execute("DROP TABLE genkey");
        }
    }

    @Test
    void anUnloggedTableIsRefused() {
        db.execute("CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY)");
        try {
            onlyError("table.include.list", wal("public\\.scratch"), "Table public.scratch is UNLOGGED",
                    "ALTER TABLE \"public\".\"scratch\" SET LOGGED");
        } finally {
            db.execute("DROP TABLE scratch");
        }
    }

    @Test
    void anExistingSlotOfAnotherPluginOrDatabaseIsRefused() {
        String slot = "walcfg_slot_" + suffix;
        TestDatabase other = PostgresFixture.createDatabase("walcfg_other");
        try {
            Map<String, String> config = wal("public\\.orders");
            config.put("slot.name", slot);
            db.execute("SELECT pg_create_logical_replication_slot('" + slot + "', 'test_decoding')");
            onlyError("slot.name", config, "Replication slot '" + slot + "' exists but uses output plugin "
                    + "'test_decoding'", "SELECT pg_drop_replication_slot('" + slot + "')");
            db.execute("SELECT pg_drop_replication_slot('" + slot + "')");
            other.execute("SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
            onlyError("slot.name", config, "belongs to database '" + other.name() + "', not '" + db.name() + "'");
            other.execute("SELECT pg_drop_replication_slot('" + slot + "')");
            db.execute("SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
            assertEquals(Map.of(), errors(config), "a pgoutput slot of this database is used as it is");
        } finally {
            db.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '"
                    + slot + "'");
            other.close();
        }
    }

    @Test
    void walModeTakesNoTrackingColumnFromTheConfig() throws SQLException {
        Map<String, String> config = wal("public\\.orders");
        config.put("incremental.column", "note"); // a text column: query mode refuses it as a tracking column
        assertEquals(Map.of(), errors(config));
        try (Connection c = db.connect()) {
            var found = dev.pgkeyset.connect.tables.TableDiscovery.discover(c, new PgKeysetConfig(config));
            assertEquals(1, found.captured().size(), found.toString());
            assertTrue(found.captured().get(0).tracking().isEmpty(), "no tracking column in wal mode");
            assertTrue(found.captured().get(0).softDelete().isEmpty());
        }
        config.put("capture.mode", "query");
        assertEquals(Set.of("incremental.columns"), errors(config).keySet(), "query mode still checks it");
    }
}

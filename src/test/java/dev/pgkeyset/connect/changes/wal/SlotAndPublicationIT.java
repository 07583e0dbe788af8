package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.apache.kafka.connect.errors.ConnectException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.config.PublicationChecks.Captured;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * {@link ReplicationSlot} and {@link Publication} against the catalog: what they create, change,
 * describe and refuse is read back from {@code pg_replication_slots}, {@code pg_publication} and
 * {@code pg_publication_tables}.
 */
class SlotAndPublicationIT {

    private static final TableId ODD = new TableId("Odd schema", "Täble \"x\"");
    private static final TableId PLAIN = new TableId("public", "plain");
    private static final TableId PARTED = new TableId("public", "parted");
    // The captured tables as setUp creates them (id, partitioned, columns), for Publication.check.
    private static final Captured ODD_T = new Captured(ODD, false, List.of("id", "note"));
    private static final Captured PLAIN_T = new Captured(PLAIN, false, List.of("id", "note"));
    private static final Captured PARTED_T = new Captured(PARTED, true, List.of("id"));

    private TestDatabase db;
    private Connection c;
    private String slotName;

    @BeforeEach
    void setUp() throws SQLException {
        db = PostgresFixture.createDatabase("wal_stream_slot");
        db.execute("CREATE SCHEMA \"Odd schema\"",
                "CREATE TABLE " + ODD.quoted() + " (id int PRIMARY KEY, note text)",
                "CREATE TABLE plain (id int PRIMARY KEY, note text)",
                "CREATE TABLE parted (id int PRIMARY KEY) PARTITION BY RANGE (id)",
                "CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100)");
        c = db.connect();
        slotName = db.name() + "_x";
    }

    @AfterEach
    void tearDown() throws SQLException {
        try {
            c.close();
        } finally {
            db.close(); // drops the slots of the test database
        }
    }

    private String text(String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    private String slotColumn(String column) throws SQLException {
        return text("SELECT " + column + " FROM pg_replication_slots WHERE slot_name = '" + slotName + "'");
    }

    @Test
    void ensureCreatesOnceThenDescribesAndDrops() throws SQLException {
        ReplicationSlot slot = new ReplicationSlot(slotName);
        String before = text("SELECT pg_current_wal_lsn()::text");

        ReplicationSlot.Ensured created = slot.ensure(c);

        assertTrue(created.created());
        assertEquals(slotColumn("confirmed_flush_lsn::text"), Lsn.format(created.lsn()));
        assertTrue(Lsn.compare(created.lsn(), Lsn.parse(before)) >= 0);
        assertEquals("pgoutput", slotColumn("plugin"));
        assertEquals(db.name(), slotColumn("database"));

        ReplicationSlot.Ensured again = slot.ensure(c);
        assertFalse(again.created());
        assertEquals(created.lsn(), again.lsn());

        ReplicationSlot.State state = slot.describe(c).orElseThrow();
        assertEquals("pgoutput", state.plugin());
        assertEquals(db.name(), state.database());
        assertFalse(state.active());
        assertNull(state.activePid());
        assertEquals(slotColumn("restart_lsn::text"), Lsn.format(state.restartLsn()));
        assertEquals(slotColumn("wal_status"), state.walStatus());
        assertFalse(state.lost());

        assertTrue(slot.drop(c));
        assertNull(slotColumn("slot_name"));
        assertTrue(slot.describe(c).isEmpty());
        assertFalse(slot.drop(c));
    }

    @Test
    void ensureWorksOnTheTasksReadOnlyNonAutocommitConnections() throws SQLException {
        c.setAutoCommit(false);
        c.setReadOnly(true);
        assertTrue(new ReplicationSlot(slotName).ensure(c).created());
        assertEquals("pgoutput", slotColumn("plugin"));
    }

    @Test
    void metricsMeasureRetainedWalAndLag() throws SQLException {
        ReplicationSlot slot = new ReplicationSlot(slotName);
        long createdAt = slot.ensure(c).lsn();
        db.execute("INSERT INTO plain SELECT g, repeat('x', 500) FROM generate_series(1, 2000) g");
        long before = Lsn.parse(text("SELECT pg_current_wal_lsn()::text"));

        ReplicationSlot.Metrics metrics = slot.metrics(c).orElseThrow();

        long after = Lsn.parse(text("SELECT pg_current_wal_lsn()::text"));
        assertTrue(Lsn.compare(metrics.currentWalLsn(), before) >= 0 && Lsn.compare(metrics.currentWalLsn(), after) <= 0);
        long restart = Lsn.parse(slotColumn("restart_lsn::text"));
        assertEquals(Lsn.minus(metrics.currentWalLsn(), restart), metrics.retainedWalBytes());
        assertEquals(Lsn.minus(metrics.currentWalLsn(), createdAt), metrics.confirmedLagBytes());
        assertTrue(metrics.confirmedLagBytes() > 1_000_000, "2000 rows of 500 bytes written since creation");
        assertEquals(metrics.confirmedLagBytes(), metrics.lagBytes(createdAt));
        assertEquals(0, metrics.lagBytes(metrics.currentWalLsn() + 10), "never negative");

        slot.drop(c);
        assertTrue(slot.metrics(c).isEmpty());
    }

    @Test
    void ensureRefusesASlotThatCannotBeThisConnectors() throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("SELECT pg_create_physical_replication_slot('" + slotName + "')");
        }
        try {
            ConnectException physical = assertThrows(ConnectException.class, () -> new ReplicationSlot(slotName).ensure(c));
            assertTrue(physical.getMessage().contains("'" + slotName + "'") && physical.getMessage().contains("physical"),
                    physical.getMessage());
        } finally {
            new ReplicationSlot(slotName).drop(c);
        }

        try (TestDatabase other = PostgresFixture.createDatabase("wal_stream_other"); Connection o = other.connect()) {
            new ReplicationSlot(slotName).ensure(o);
            ConnectException elsewhere = assertThrows(ConnectException.class, () -> new ReplicationSlot(slotName).ensure(c));
            assertTrue(elsewhere.getMessage().contains("belongs to database '" + other.name() + "'"), elsewhere.getMessage());
        }
    }

    private Set<TableId> publishedTables(String publication) throws SQLException {
        Set<TableId> tables = new TreeSet<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT schemaname, tablename"
                + " FROM pg_publication_tables WHERE pubname = '" + publication + "'")) {
            while (rs.next()) {
                tables.add(new TableId(rs.getString(1), rs.getString(2)));
            }
        }
        return tables;
    }

    @Test
    void filteredPublicationIsCreatedThenKeptEqualToTheTables() throws SQLException {
        String name = "Pub " + db.name();
        Publication publication = new Publication(name);

        assertTrue(publication.ensureFiltered(c, List.of(ODD, PARTED)));
        assertEquals(Set.of(ODD, PARTED), publishedTables(name));
        assertEquals("t|t|t|t|t", text("SELECT concat_ws('|', pubviaroot, pubinsert, pubupdate, pubdelete, pubtruncate)"
                + " FROM pg_publication WHERE pubname = '" + name + "'"));
        assertFalse(publication.ensureFiltered(c, List.of(PARTED, ODD)), "already equal");
        assertTrue(publication.check(c, List.of(ODD_T, PARTED_T)).isEmpty());

        assertTrue(publication.ensureFiltered(c, List.of(PLAIN, ODD)));
        assertEquals(Set.of(PLAIN, ODD), publishedTables(name));

        db.execute("ALTER PUBLICATION \"" + name + "\" SET (publish = 'insert', publish_via_partition_root = false)",
                "ALTER PUBLICATION \"" + name + "\" SET TABLE plain (id), " + ODD.quoted() + " WHERE (id > 5)");
        assertTrue(publication.ensureFiltered(c, List.of(PLAIN, ODD)));
        assertEquals("t|t|t|t|t", text("SELECT concat_ws('|', pubviaroot, pubinsert, pubupdate, pubdelete, pubtruncate)"
                + " FROM pg_publication WHERE pubname = '" + name + "'"));
        assertEquals("0", text("SELECT count(*) FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid"
                + " WHERE p.pubname = '" + name + "' AND (r.prattrs IS NOT NULL OR r.prqual IS NOT NULL)"));
    }

    @Test
    void filteredModeDoesNotNarrowAPublicationForAllTables() {
        String name = db.name() + "_all";
        db.execute("CREATE PUBLICATION " + name + " FOR ALL TABLES");
        ConnectException e = assertThrows(ConnectException.class,
                () -> new Publication(name).ensureFiltered(c, List.of(PLAIN)));
        assertTrue(e.getMessage().contains("'" + name + "' is FOR ALL TABLES"), e.getMessage());
    }

    @Test
    void checkNamesEachProblemWithItsFix() throws SQLException {
        String name = db.name() + "_user";
        Publication publication = new Publication(name);

        List<String> missing = publication.check(c, List.of(PLAIN_T));
        assertEquals(1, missing.size());
        assertTrue(missing.get(0).contains("'" + name + "' does not exist") && missing.get(0).contains("CREATE PUBLICATION"),
                missing.get(0));

        db.execute("CREATE PUBLICATION " + name + " FOR TABLE plain (id) WHERE (id > 1), parted"
                + " WITH (publish = 'insert, update')");
        List<String> problems = publication.check(c, List.of(PLAIN_T, ODD_T, PARTED_T));
        String all = String.join("\n", problems);
        assertEquals(5, problems.size(), all);
        assertTrue(all.contains("does not publish delete, truncate"), all);
        assertTrue(all.contains("does not publish captured table(s) Odd schema.Täble \"x\": their changes would never"
                + " arrive. Run ALTER PUBLICATION \"" + name + "\" ADD TABLE \"Odd schema\".\"Täble \"\"x\"\"\""), all);
        assertTrue(all.contains("publish_via_partition_root = true"), all);
        assertTrue(all.contains("only some columns of table public.plain"), all);
        assertTrue(all.contains("only the rows of table public.plain WHERE"), all);

        db.execute("DROP PUBLICATION " + name, "CREATE PUBLICATION " + name + " FOR ALL TABLES"
                + " WITH (publish_via_partition_root = true)");
        assertEquals(List.of(), publication.check(c, List.of(PLAIN_T, ODD_T, PARTED_T)));
    }
}

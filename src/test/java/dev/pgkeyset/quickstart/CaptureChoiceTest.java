package dev.pgkeyset.quickstart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.pg.ReplicationServer;

/** WAL mode where the server and role allow it; otherwise query mode, with one line saying what to change. */
class CaptureChoiceTest {

    private static final Map<String, String> WAL_CONFIG = Map.of("name", "pg-keyset-quickstart", "capture.mode", "wal",
            "slot.name", "pgkeyset_quickstart", "publication.name", "pgkeyset_quickstart",
            "incremental.column", "updated_at", "connection.url", "jdbc:postgresql://localhost:5432/postgres",
            "table.include.list", "public\\.quickstart_demo", "topic.prefix", "quickstart");

    private static ReplicationServer.Facts facts(String walLevel, boolean superuser, boolean replication,
                                                 boolean inRecovery, int version) {
        return new ReplicationServer.Facts(walLevel, version, inRecovery, "alice", superuser, replication, 10, 0,
                List.of(), 10, 0, true, "postgres", true);
    }

    @Test
    void walWhereTheServerAndRoleAllowIt() {
        assertEquals(new CaptureChoice("wal", null), CaptureChoice.decide(WAL_CONFIG, facts("logical", true, false,
                false, 170005)));
        assertEquals(new CaptureChoice("wal", null), CaptureChoice.decide(WAL_CONFIG, facts("logical", false, true,
                false, 150010)));
    }

    @Test
    void queryModeWithOneLineSayingWhatToChange() {
        CaptureChoice replica = CaptureChoice.decide(WAL_CONFIG, facts("replica", true, true, false, 150010));
        assertEquals("query", replica.mode());
        assertEquals("no WAL capture here: wal_level is 'replica' (run ALTER SYSTEM SET wal_level = logical as a "
                + "superuser and restart PostgreSQL); following changes by query instead (capture.mode=query: inserts "
                + "and updates through updated_at, hard deletes unseen)", replica.fallBack());
        assertEquals("query", replica.applyTo(WAL_CONFIG).get("capture.mode"));
        assertEquals(List.of(replica.fallBack()), replica.explain(replica.applyTo(WAL_CONFIG), "psql", null));

        CaptureChoice role = CaptureChoice.decide(WAL_CONFIG, facts("logical", false, false, false, 150010));
        assertTrue(role.fallBack().startsWith("no WAL capture here: role alice may not replicate (run ALTER ROLE "
                + "alice REPLICATION as a superuser); following changes by query instead"), role.fallBack());
        assertTrue(CaptureChoice.decide(WAL_CONFIG, facts("logical", true, false, true, 150010)).fallBack()
                .contains("standby before PostgreSQL 16"));
        assertTrue(CaptureChoice.decide(WAL_CONFIG, facts("logical", true, false, true, 170000)).fallBack()
                .contains("cannot create the quickstart's publication"));
    }

    @Test
    void aConfigAskingForQueryModeIsLeftAloneAndSaysWhatItSees() {
        Map<String, String> query = new java.util.HashMap<>(WAL_CONFIG);
        query.put("capture.mode", "query");
        CaptureChoice choice = CaptureChoice.decide(query, facts("replica", false, false, false, 150010));
        assertEquals(new CaptureChoice("query", null), choice);
        assertEquals(List.of("changes by query (capture.mode=query): inserts and updates through updated_at, hard "
                + "deletes unseen"), choice.explain(query, "psql", null));
    }

    @Test
    void theFirstScreenNamesTheSlotAndPublicationAndHowToDropThem() {
        CaptureChoice wal = CaptureChoice.decide(WAL_CONFIG, facts("logical", true, true, false, 170005));
        List<String> lines = wal.explain(WAL_CONFIG, "psql -h localhost -p 5432 -U postgres postgres", null);
        assertEquals(List.of("changes from the WAL (capture.mode=wal): the snapshot, then every insert, update and "
                + "delete, through replication slot pgkeyset_quickstart and publication pgkeyset_quickstart",
                "  both stay after the quickstart stops, and a slot keeps the server's WAL until it is read or dropped; "
                + "when done: psql -h localhost -p 5432 -U postgres postgres -c \"SELECT pg_drop_replication_slot("
                + "'pgkeyset_quickstart')\" -c 'DROP PUBLICATION \"pgkeyset_quickstart\"'"), lines);
        // The config file names the server: the SQL alone. Embedded: the data directory holds them.
        assertTrue(wal.explain(WAL_CONFIG, null, Path.of("/d/postgres")).get(1).endsWith("when done: SELECT "
                + "pg_drop_replication_slot('pgkeyset_quickstart'); DROP PUBLICATION \"pgkeyset_quickstart\"; (or "
                + "delete /d/postgres, which holds them)"));
        // Without slot.name the connector derives the names from its own: the screen shows the derived ones.
        Map<String, String> derived = new java.util.HashMap<>(WAL_CONFIG);
        derived.remove("slot.name");
        derived.remove("publication.name");
        String first = wal.explain(derived, "psql", null).get(0);
        assertTrue(first.matches(".*replication slot pgkeyset_\\w+ and publication pgkeyset_\\w+"), first);
        assertNull(wal.fallBack());
    }
}

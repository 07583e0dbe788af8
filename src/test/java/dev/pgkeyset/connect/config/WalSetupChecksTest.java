package dev.pgkeyset.connect.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import java.util.Set;

import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.config.WalSetupChecks.Problem;

/**
 * Every branch of the server-wide checks of capture.mode=wal, on facts the shared test server
 * cannot be given (wal_level, max_replication_slots, a standby, ...). The wording is checked: each
 * message must name the fact and the command that fixes it.
 */
class WalSetupChecksTest {

    private static Problem only(Optional<Problem> problem) {
        assertTrue(problem.isPresent(), "a problem was expected");
        return problem.get();
    }

    private static void contains(Problem problem, String key, String... fragments) {
        assertEquals(key, problem.key(), problem.message());
        for (String fragment : fragments) {
            assertTrue(problem.message().contains(fragment), "'" + fragment + "' not in: " + problem.message());
        }
    }

    @Test
    void walLevelMustBeLogical() {
        assertEquals(Optional.empty(), WalSetupChecks.walLevel("logical"));
        for (String level : List.of("replica", "minimal")) {
            contains(only(WalSetupChecks.walLevel(level)), "capture.mode", "wal_level is '" + level + "'",
                    "ALTER SYSTEM SET wal_level = logical", "restart PostgreSQL", "capture.mode=query");
        }
    }

    @Test
    void theChunkedSnapshotNeedsToWriteWatermarks() {
        assertEquals(Optional.empty(), WalSetupChecks.watermarks(true, true, "a"));
        assertEquals(Optional.empty(), WalSetupChecks.watermarks(false, false, "a"));
        contains(only(WalSetupChecks.watermarks(true, false, "App User")), "snapshot.chunked",
                "may not run pg_logical_emit_message",
                "GRANT EXECUTE ON FUNCTION pg_catalog.pg_logical_emit_message(boolean, text, bytea) TO \"App User\"",
                "snapshot.chunked=false");
    }

    @Test
    void theRoleMustReplicateOrBeSuperuser() {
        assertEquals(Optional.empty(), WalSetupChecks.replicationRole("a", true, false));
        assertEquals(Optional.empty(), WalSetupChecks.replicationRole("a", false, true));
        contains(only(WalSetupChecks.replicationRole("App User", false, false)), "connection.user",
                "Role App User may not replicate", "REPLICATION attribute (or superuser",
                "ALTER ROLE \"App User\" REPLICATION");
    }

    @Test
    void aNewSlotNeedsAFreeOneAnExistingSlotNone() {
        assertEquals(Optional.empty(), WalSetupChecks.slotCapacity("s", false, 10, 9, List.of()));
        assertEquals(Optional.empty(), WalSetupChecks.slotCapacity("s", true, 10, 10, List.of()),
                "the connector's own slot exists: no new slot needed");
        contains(only(WalSetupChecks.slotCapacity("s", false, 10, 10, List.of("old_a", "old_b"))), "slot.name",
                "No replication slot is free for slot 's'", "max_replication_slots is 10 and 10 slot(s) exist",
                "inactive now: old_a, old_b", "pg_drop_replication_slot", "max_replication_slots = 11");
        contains(only(WalSetupChecks.slotCapacity("s", false, 2, 3, List.of())), "slot.name",
                "every slot is in use by a walsender now");
    }

    @Test
    void theReplicationConnectionNeedsAWalsenderUnlessItReplacesItsOwn() {
        assertEquals(Optional.empty(), WalSetupChecks.walSenderCapacity(10, 9, false));
        assertEquals(Optional.empty(), WalSetupChecks.walSenderCapacity(10, 10, true),
                "the slot's own walsender goes when the task restarts");
        contains(only(WalSetupChecks.walSenderCapacity(4, 4, false)), "capture.mode",
                "No walsender is free: max_wal_senders is 4 and 4 are running", "max_wal_senders = 5");
    }

    @Test
    void anExistingSlotMustBeLogicalPgoutputOfThisDatabaseAndNotLost() {
        assertEquals(Optional.empty(), WalSetupChecks.existingSlot("s", "logical", "pgoutput", "shop", "reserved",
                "shop"));
        contains(only(WalSetupChecks.existingSlot("s", "physical", null, null, "reserved", "shop")), "slot.name",
                "'s' exists but is a physical slot", "set slot.name to a slot of its own",
                "SELECT pg_drop_replication_slot('s')");
        contains(only(WalSetupChecks.existingSlot("s", "logical", "test_decoding", "shop", "reserved", "shop")),
                "slot.name", "uses output plugin 'test_decoding'", "pgoutput");
        contains(only(WalSetupChecks.existingSlot("it's", "logical", "pgoutput", "other", "reserved", "shop")),
                "slot.name", "belongs to database 'other', not 'shop'", "pg_drop_replication_slot('it''s')");
        contains(only(WalSetupChecks.existingSlot("s", "logical", "pgoutput", "shop", "lost", "shop")), "slot.name",
                "invalidated (wal_status = 'lost')", "delete the connector's offsets", "snapshot.mode=initial");
    }

    @Test
    void aStandbyDecodesFromPostgres16AndCannotCreateAPublication() {
        assertEquals(Optional.empty(), WalSetupChecks.standby(false, 150000, PublicationAutocreate.FILTERED));
        contains(only(WalSetupChecks.standby(true, 150004, PublicationAutocreate.DISABLED)), "connection.url",
                "standby", "PostgreSQL 16 or later (this is 150004)", "point connection.url at the primary");
        contains(only(WalSetupChecks.standby(true, 160001, PublicationAutocreate.FILTERED)), "publication.autocreate",
                "cannot create or alter a publication", "publication.autocreate=disabled");
        assertEquals(Optional.empty(), WalSetupChecks.standby(true, 170000, PublicationAutocreate.DISABLED));
    }

    @Test
    void moreThanOneTaskIsRefused() {
        assertEquals(Optional.empty(), WalSetupChecks.tasksMax(1));
        contains(only(WalSetupChecks.tasksMax(3)), "tasks.max",
                "capture.mode=wal streams one slot from one task; set tasks.max=1 (found 3)");
    }

    @Test
    void aSoftDeleteColumnIsRefused() {
        assertEquals(Optional.empty(), WalSetupChecks.softDelete(null));
        assertEquals(Optional.empty(), WalSetupChecks.softDelete(" "));
        contains(only(WalSetupChecks.softDelete("deleted")), "soft.delete.column",
                "an update that sets 'deleted' stays an ordinary update", "Remove soft.delete.column");
    }

    @Test
    void aFilteredPublicationNeedsRightsToCreateAndAlterIt() {
        assertEquals(List.of(), WalSetupChecks.filteredPublication("p", "r", "db", false, true, false, false, false,
                Set.of()), "may create it and owns the tables");
        assertEquals(List.of(), WalSetupChecks.filteredPublication("p", "r", "db", true, false, true, false, false,
                Set.of("public.t")), "a superuser may do anything");
        assertEquals(List.of(), WalSetupChecks.filteredPublication("p", "r", "db", false, false, true, true, false,
                Set.of()), "owns the existing publication: no CREATE on the database needed");

        List<Problem> cannotCreate = WalSetupChecks.filteredPublication("p", "r", "shop", false, false, false, false,
                false, Set.of());
        assertEquals(1, cannotCreate.size(), cannotCreate.toString());
        contains(cannotCreate.get(0), "publication.autocreate", "Role r may not create publication 'p'",
                "GRANT CREATE ON DATABASE \"shop\" TO \"r\"", "publication.autocreate=disabled");

        List<Problem> notOwner = WalSetupChecks.filteredPublication("p", "r", "shop", false, true, true, false, false,
                Set.of());
        assertEquals(1, notOwner.size(), notOwner.toString());
        contains(notOwner.get(0), "publication.autocreate", "does not own publication 'p'",
                "ALTER PUBLICATION \"p\" OWNER TO \"r\"");

        List<Problem> tables = WalSetupChecks.filteredPublication("p", "r", "shop", false, true, false, false, false,
                new java.util.TreeSet<>(Set.of("public.b", "public.a")));
        assertEquals(1, tables.size(), tables.toString());
        contains(tables.get(0), "publication.autocreate", "does not own table(s) public.a, public.b",
                "only a table's owner (or a superuser) may add it to a publication", "GRANT <owner> TO \"r\"");

        List<Problem> allTables = WalSetupChecks.filteredPublication("p", "r", "shop", true, true, true, true, true,
                Set.of());
        assertEquals(1, allTables.size(), allTables.toString());
        contains(allTables.get(0), "publication.autocreate", "'p' is FOR ALL TABLES", "publication.autocreate=disabled");
    }
}

package dev.pgkeyset.connect.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.config.PublicationChecks.Captured;
import dev.pgkeyset.connect.config.WalSetupChecks.Problem;
import dev.pgkeyset.connect.pg.PublicationFacts;
import dev.pgkeyset.connect.pg.PublicationFacts.Published;
import dev.pgkeyset.connect.pg.TableId;

/** What an existing publication must offer, on facts built here (column lists and row filters included). */
class PublicationChecksTest {

    private static final TableId ORDERS = new TableId("public", "orders");
    private static final TableId EVENTS = new TableId("public", "events");
    private static final Captured ORDERS_T = new Captured(ORDERS, false, List.of("id", "note"));
    private static final Captured EVENTS_P = new Captured(EVENTS, true, List.of("id", "at"));

    private static PublicationFacts publication(boolean truncate, boolean viaRoot, Map<TableId, Published> tables) {
        return new PublicationFacts("pub", true, false, true, true, true, truncate, viaRoot, tables);
    }

    private static void contains(Problem problem, String... fragments) {
        assertEquals("publication.name", problem.key(), problem.message());
        for (String fragment : fragments) {
            assertTrue(problem.message().contains(fragment), "'" + fragment + "' not in: " + problem.message());
        }
    }

    @Test
    void aPublicationOfEveryTableWholeWithEveryOperationPasses() {
        PublicationFacts ok = publication(true, true, Map.of(ORDERS, new Published(List.of("id", "note"), null),
                EVENTS, new Published(null, null)));
        assertEquals(List.of(), PublicationChecks.problems(ok, List.of(ORDERS_T, EVENTS_P)));
    }

    @Test
    void aMissingPublicationNamesTheCreateToRun() {
        String message = PublicationChecks.missingProblem("my pub", List.of(ORDERS_T, EVENTS_P));
        assertTrue(message.contains("Publication 'my pub' does not exist")
                && message.contains("CREATE PUBLICATION \"my pub\" FOR TABLE \"public\".\"orders\", "
                        + "\"public\".\"events\" WITH (publish_via_partition_root = true)")
                && message.contains("publication.autocreate=filtered"), message);
    }

    @Test
    void everyOperationMustBePublished() {
        PublicationFacts noDelete = new PublicationFacts("pub", true, false, true, true, false, false, true,
                Map.of(ORDERS, new Published(null, null)));
        List<Problem> problems = PublicationChecks.problems(noDelete, List.of(ORDERS_T));
        assertEquals(1, problems.size(), problems.toString());
        contains(problems.get(0), "does not publish delete, truncate", "lost without a word",
                "ALTER PUBLICATION \"pub\" SET (publish = 'insert, update, delete, truncate')");
    }

    @Test
    void aMissingTableIsNamedWithTheAlterToRun() {
        List<Problem> problems = PublicationChecks.problems(publication(true, true, Map.of()),
                List.of(ORDERS_T, EVENTS_P));
        assertEquals(1, problems.size(), problems.toString());
        contains(problems.get(0), "does not publish captured table(s) public.orders, public.events",
                "ALTER PUBLICATION \"pub\" ADD TABLE \"public\".\"orders\", \"public\".\"events\"");
    }

    @Test
    void aPartitionedTableMustBePublishedThroughItsRoot() {
        // publish_via_partition_root = false lists the leaves, not the parent: one problem, not two
        PublicationFacts leaves = publication(true, false, Map.of(ORDERS, new Published(null, null),
                new TableId("public", "events_2024"), new Published(null, null)));
        List<Problem> problems = PublicationChecks.problems(leaves, List.of(ORDERS_T, EVENTS_P));
        assertEquals(1, problems.size(), problems.toString());
        contains(problems.get(0), "publishes partitioned table(s) public.events partition by partition",
                "ALTER PUBLICATION \"pub\" SET (publish_via_partition_root = true)");
        assertEquals(List.of(), PublicationChecks.problems(leaves, List.of(ORDERS_T)),
                "a plain table does not care");
    }

    @Test
    void columnListsAndRowFiltersAreRefused() {
        PublicationFacts partial = publication(true, true, Map.of(ORDERS, new Published(List.of("id"), "(id > 10)")));
        List<Problem> problems = PublicationChecks.problems(partial, List.of(ORDERS_T));
        assertEquals(2, problems.size(), problems.toString());
        contains(problems.get(0), "only some columns of table public.orders", "without note",
                "ALTER PUBLICATION \"pub\" DROP TABLE \"public\".\"orders\"; ALTER PUBLICATION \"pub\" ADD TABLE");
        contains(problems.get(1), "only the rows of table public.orders WHERE (id > 10)", "would never arrive");
    }
}

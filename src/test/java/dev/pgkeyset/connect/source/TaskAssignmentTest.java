package dev.pgkeyset.connect.source;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.pg.TableInfo;
import dev.pgkeyset.connect.pg.TableKind;

class TaskAssignmentTest {

    private static CapturedTable table(String name, long rows) {
        return new CapturedTable(new TableInfo(new TableId("public", name), TableKind.TABLE, List.of(), List.of("id"),
                java.util.Set.of(), rows), List.of());
    }

    @Test
    void largestTablesGoToTheLeastLoadedTask() {
        List<List<TableId>> tasks = TaskAssignment.assign(List.of(table("a", 100), table("b", 1000), table("c", 600),
                table("d", 500), table("e", 0)), 2);
        // b(1000) -> 0; c(600) -> 1; d(500) -> 1 (601 < 1001); a(100) -> 0 (1001 < 1102); e ties, -> 0.
        assertEquals(List.of(new TableId("public", "b"), new TableId("public", "a"), new TableId("public", "e")),
                tasks.get(0));
        assertEquals(List.of(new TableId("public", "c"), new TableId("public", "d")), tasks.get(1));
    }

    @Test
    void neverMoreTasksThanTables() {
        assertEquals(2, TaskAssignment.assign(List.of(table("a", 1), table("b", 1)), 8).size());
        assertEquals(0, TaskAssignment.assign(List.of(), 4).size());
    }
}

package dev.pgkeyset.connect.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.PgKeysetSourceConnector;
import dev.pgkeyset.connect.config.TableSlice;
import dev.pgkeyset.connect.config.TaskConfig;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * capture.mode=wal runs one task with every table whole, even where query mode splits a large table
 * over spare tasks (design decision 1: one slot, one task).
 */
class WalTaskAssignmentIT {

    private static List<Map<String, String>> taskConfigs(Map<String, String> props, int maxTasks) {
        PgKeysetSourceConnector connector = new PgKeysetSourceConnector();
        connector.start(props);
        try {
            return connector.taskConfigs(maxTasks);
        } finally {
            connector.stop();
        }
    }

    @Test
    void oneTaskReadsEveryTableWhole() {
        TestDatabase db = PostgresFixture.createDatabase("walcfg_tasks");
        try {
            db.execute("CREATE TABLE big (id int PRIMARY KEY)",
                    "INSERT INTO big SELECT g FROM generate_series(1, 120000) g", "ANALYZE big",
                    "CREATE TABLE a (id int PRIMARY KEY)", "CREATE TABLE b (id int PRIMARY KEY)");
            Map<String, String> props = db.connectorConfig("t", "public\\..*");
            props.put("name", "walcfg-tasks");

            List<Map<String, String>> query = taskConfigs(props, 4);
            assertEquals(4, query.size(), "query mode: the big table split over the spare tasks");
            assertTrue(query.stream().flatMap(t -> new TaskConfig(t).slices().stream())
                    .anyMatch(s -> s.part() == TableSlice.Part.RANGE), "query mode splits big");

            props.put("capture.mode", "wal");
            props.put("snapshot.mode", "initial");
            List<Map<String, String>> wal = taskConfigs(props, 4);
            assertEquals(1, wal.size(), "wal mode: one task");
            assertEquals(List.of(TableSlice.whole(new TableId("public", "a")), TableSlice.whole(new TableId("public",
                    "b")), TableSlice.whole(new TableId("public", "big"))), new TaskConfig(wal.get(0)).slices());
        } finally {
            db.close();
        }
    }
}

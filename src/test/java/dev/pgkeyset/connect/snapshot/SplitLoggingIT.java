package dev.pgkeyset.connect.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.PgKeysetSourceConnector;
import dev.pgkeyset.connect.config.TaskConfig;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * Split boundaries are key values, i.e. row contents: at info the connector logs how a table is
 * cut (how many ranges, over which key), never the boundaries themselves (issue 13 case 9).
 */
class SplitLoggingIT {

    @Test
    void boundariesAreNotLoggedAtInfo() {
        TestDatabase db = PostgresFixture.createDatabase("split_logging");
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try {
            // Keys that cannot be mistaken for anything else in a log line.
            db.execute("CREATE TABLE big (k text PRIMARY KEY)",
                    "INSERT INTO big SELECT 'rowkey-' || lpad(g::text, 7, '0') FROM generate_series(1, 120000) g",
                    "ANALYZE big");
            Map<String, String> props = db.connectorConfig("log", "public\\.big");
            PgKeysetSourceConnector connector = new PgKeysetSourceConnector();
            connector.start(props);
            List<Map<String, String>> tasks;
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8)); // where slf4j-simple writes
            try {
                tasks = connector.taskConfigs(2);
            } finally {
                System.setErr(err);
                connector.stop();
            }
            String logs = captured.toString(StandardCharsets.UTF_8);
            err.print(logs);
            assertEquals(2, tasks.size(), "the table was split");
            String boundaries = new TaskConfig(tasks.get(0)).slices().get(0).split().json();
            assertTrue(boundaries.contains("rowkey-"), boundaries);
            assertTrue(logs.contains("split into 2 key ranges"), "the split is logged: " + logs);
            assertFalse(logs.contains("rowkey-"), "a key value was logged: " + logs);
        } finally {
            System.setErr(err);
            db.close();
        }
    }
}

package dev.pgkeyset.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.connect.errors.ConnectException;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.config.TaskConfig;
import dev.pgkeyset.connect.testing.PrivateCluster;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * The connector started (or moved to another worker by a rebalance) while PostgreSQL is down or
 * restarting: it waits with the tasks' backoff and comes up once the server answers, instead of
 * failing, which in Kafka Connect leaves it FAILED until someone restarts it (found by the chaos
 * soak: a PostgreSQL restart while the connector moved, and the connector never came back). An
 * error no retry can mend (a database that does not exist) still fails at once.
 */
class ConnectorStartWhileDatabaseDownIT {

    @Test
    void aConnectorStartedWhileThePostgresqlServerIsDownComesUpOnceItIsBack() throws Exception {
        try (PrivateCluster postgres = PrivateCluster.start(Map.of())) {
            TestDatabase db = postgres.createDatabase("start_down");
            db.execute("CREATE TABLE t (id int PRIMARY KEY, v text)");
            Map<String, String> config = db.connectorConfig("down", "public\\.t");
            config.put("retry.backoff.ms", "200");
            config.put("retry.backoff.max.ms", "1000");
            config.put("connection.attempts", "30");
            postgres.stop(PrivateCluster.StopMode.IMMEDIATE);

            PgKeysetSourceConnector connector = new PgKeysetSourceConnector();
            long started = System.nanoTime();
            CompletableFuture<Void> start = CompletableFuture.runAsync(() -> connector.start(config));
            Thread.sleep(3_000);
            assertTrue(!start.isDone() || !start.isCompletedExceptionally(),
                    "the connector must not fail while the server is down: " + start);
            postgres.start();
            start.get(60, TimeUnit.SECONDS);
            long seconds = Duration.ofNanos(System.nanoTime() - started).toSeconds();
            try {
                List<Map<String, String>> tasks = connector.taskConfigs(1);
                assertEquals(1, tasks.size());
                assertTrue(tasks.get(0).get(TaskConfig.TASK_TABLES).contains("public.t")
                        || tasks.get(0).get(TaskConfig.TASK_TABLES).contains("\"t\""), tasks.get(0).toString());
                assertTrue(seconds >= 3, "it waited for the server (" + seconds + " s)");
            } finally {
                connector.stop();
            }
        }
    }

    @Test
    void aDatabaseThatDoesNotExistStillFailsAtOnce() throws Exception {
        try (PrivateCluster postgres = PrivateCluster.start(Map.of())) {
            TestDatabase db = postgres.createDatabase("start_missing");
            Map<String, String> config = db.connectorConfig("missing", "public\\.t");
            config.put("connection.url", config.get("connection.url").replace(db.name(), "no_such_database"));
            config.put("retry.backoff.ms", "5000");
            long started = System.nanoTime();
            ConnectException e = assertThrows(ConnectException.class, () -> new PgKeysetSourceConnector().start(config));
            assertTrue(Duration.ofNanos(System.nanoTime() - started).toSeconds() < 5,
                    "no wait for an error no retry mends");
            assertTrue(e.getMessage().contains("no_such_database"), e.getMessage());
        }
    }
}

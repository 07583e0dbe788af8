package dev.pgkeyset.connect.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.SQLException;
import java.time.Duration;
import java.util.List;

import org.apache.kafka.connect.errors.ConnectException;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.pg.TableId;

/** The message of a row no fetch can hold: the table, the key after which it failed, the remedy. */
class ReadFailuresTest {

    @Test
    void aRowOverTheLimitNamesTheTableTheKeyBeforeItAndMoreHeap() {
        ReadFailures failures = new ReadFailures(new TableId("app", "docs"),
                new RetryPolicy(3, Duration.ofMillis(10), Duration.ofMillis(10)));
        ConnectException e = failures.rowOverLimit(new SQLException("Result set exceeded maxResultBuffer limit.", "08S01"),
                new Object[] {42L, "x".repeat(300)}, List.of("tenant", "name"), 1000);
        String message = e.getMessage();
        assertTrue(message.startsWith("Reading table app.docs failed: the row after (tenant, name)=(42, "), message);
        assertTrue(message.contains("x".repeat(100) + "…)") && !message.contains("x".repeat(101)), message);
        assertTrue(message.contains("(maxResultBuffer: 1000 bytes") && message.contains("more heap"), message);
        assertEquals("the start of the table (no row read yet)", ReadFailures.describe(List.of("id"), null));
    }
}

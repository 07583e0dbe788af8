package dev.pgkeyset.connect.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.Test;

class RetryPolicyTest {

    private final RetryPolicy policy = new RetryPolicy(5, Duration.ofMillis(100), Duration.ofMillis(1000));

    @Test
    void backoffDoublesUpToTheCap() {
        // random = 0.5 is the middle of the jitter: no change.
        assertEquals(100, policy.backoff(1, 0.5).toMillis());
        assertEquals(200, policy.backoff(2, 0.5).toMillis());
        assertEquals(400, policy.backoff(3, 0.5).toMillis());
        assertEquals(800, policy.backoff(4, 0.5).toMillis());
        assertEquals(1000, policy.backoff(5, 0.5).toMillis());
        assertEquals(1000, policy.backoff(60, 0.5).toMillis(), "no overflow for long failure runs");
    }

    @Test
    void jitterSpreadsHalfEitherWay() {
        assertEquals(50, policy.backoff(1, 0.0).toMillis());
        assertEquals(150, policy.backoff(1, 1.0).toMillis());
        for (int i = 0; i < 100; i++) {
            long millis = policy.backoff(3).toMillis();
            assertTrue(millis >= 200 && millis <= 600, "jittered " + millis);
        }
    }

    @Test
    void attemptsAreBounded() {
        assertFalse(policy.exhausted(4));
        assertTrue(policy.exhausted(5));
    }
}

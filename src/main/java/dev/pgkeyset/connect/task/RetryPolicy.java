package dev.pgkeyset.connect.task;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How a table retries after a transient database error: exponential backoff from
 * {@code retry.backoff.ms} up to {@code retry.backoff.max.ms}, with ±50 % jitter so the tasks of a
 * cluster do not reconnect in step, and at most {@code connection.attempts} failures in a row
 * before the task fails with the last error.
 */
public record RetryPolicy(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {

    /** connection.attempts, retry.backoff.ms and retry.backoff.max.ms. */
    public static RetryPolicy of(dev.pgkeyset.connect.config.PgKeysetConfig config) {
        return new RetryPolicy(config.connectionAttempts(), config.retryBackoff(), config.retryBackoffMax());
    }

    /** The wait after the {@code failures}-th failure in a row (1-based). */
    Duration backoff(int failures, double random) {
        long base = initialBackoff.toMillis();
        long capped = Math.min(maxBackoff.toMillis(), base << Math.min(30, Math.max(0, failures - 1)));
        return Duration.ofMillis(Math.max(1, Math.round(capped * (0.5 + random))));
    }

    public Duration backoff(int failures) {
        return backoff(failures, ThreadLocalRandom.current().nextDouble());
    }

    public boolean exhausted(int failures) {
        return failures >= maxAttempts;
    }
}

package dev.pgkeyset.connect.pg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * With HikariCP's loggers at DEBUG (as an operator chasing a pool problem sets them), HikariCP
 * prints its whole configuration when a pool starts, masking only a data source property named
 * {@code password}. No secret of connection.url ({@code password}, {@code sslpassword}) nor
 * connection.password may appear in what the JVM prints. Runs in its own JVM: a logger's level is
 * fixed when the logger is first made.
 */
class PoolDebugLogIT {

    private static final String PASSWORD = "ConfPw-61d0-SECRET";
    private static final String URL_PASSWORD = "UrlPw-27ab-SECRET";
    private static final String SSL_PASSWORD = "SslPw-93ce-SECRET";

    @Test
    void hikariDebugOutputHoldsNoSecret() throws Exception {
        try (TestDatabase db = PostgresFixture.createDatabase("pool_debug_log")) {
            Path log = Files.createTempFile("pool-debug", ".log");
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            List<String> command = List.of(java, "-Xmx128m", "-Dorg.slf4j.simpleLogger.log.com.zaxxer.hikari=debug",
                    "-cp", System.getProperty("java.class.path"), PoolDebugLogMain.class.getName(),
                    // trust authentication ignores the passwords; sslmode=disable leaves sslpassword unused
                    db.jdbcUrl() + "?sslmode=disable&password=" + URL_PASSWORD + "&sslpassword=" + SSL_PASSWORD,
                    db.user(), PASSWORD);
            Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
                    .start();
            assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the forked JVM finished");
            String output = Files.readString(log);
            Files.deleteIfExists(log);
            assertEquals(0, process.exitValue(), output);
            assertTrue(output.contains("configuration:") && output.contains("pool opened and closed"),
                    "HikariCP printed its configuration at DEBUG:\n" + output);
            for (String secret : new String[] {PASSWORD, URL_PASSWORD, SSL_PASSWORD}) {
                int at = output.indexOf(secret);
                assertFalse(at >= 0, "a secret in the output: ..."
                        + output.substring(Math.max(0, at - 300), Math.min(output.length(), at + 60)));
            }
        }
    }
}

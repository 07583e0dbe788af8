package dev.pgkeyset.connect.config;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import org.apache.kafka.connect.runtime.rest.entities.ConnectorStateInfo;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.PgKeysetSourceConnector;
import dev.pgkeyset.connect.testing.ConnectFixture;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * {@code connection.password} never reaches a log line, an exception or a REST answer of ours:
 * everything the worker, the connector and pgjdbc (at its finest log level) print while a connector
 * validates, snapshots, and fails to reach its database is captured and searched for it.
 */
class PasswordSecrecyIT {

    private static final String PASSWORD = "Pw-9f83kq-never-print-me";
    /** Passwords written in connection.url: as a query parameter, as sslpassword, before the host. */
    private static final String URL_PASSWORD = "UrlPw-4c2e-SECRET";
    private static final String SSL_PASSWORD = "SslPw-81fa-SECRET";
    private static final String USERINFO_PASSWORD = "InfoPw-0b7d-SECRET";
    private static final String[] SECRETS = {PASSWORD, URL_PASSWORD, SSL_PASSWORD, USERINFO_PASSWORD};
    private static final String URL_SECRETS = "?password=" + URL_PASSWORD + "&sslpassword=" + SSL_PASSWORD;

    /** Copies everything written to a stream into a buffer as well. */
    private static PrintStream tee(PrintStream original, OutputStream copy) {
        return new PrintStream(new OutputStream() {
            @Override
            public void write(int b) {
                original.write(b);
                synchronized (copy) {
                    try {
                        copy.write(b);
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
            }

            @Override
            public void write(byte[] b, int off, int len) {
                original.write(b, off, len);
                synchronized (copy) {
                    try {
                        copy.write(b, off, len);
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
            }
        }, true, StandardCharsets.UTF_8);
    }

    @Test
    void thePasswordAppearsNowhere() throws Exception {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream err = System.err;
        PrintStream out = System.out;
        Logger pgjdbc = Logger.getLogger("org.postgresql");
        Level pgjdbcLevel = pgjdbc.getLevel();
        Handler pgjdbcCapture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                String line = record.getLevel() + " " + record.getLoggerName() + " " + record.getMessage() + " "
                        + java.util.Arrays.toString(record.getParameters()) + " " + record.getThrown() + "\n";
                synchronized (captured) {
                    captured.writeBytes(line.getBytes(StandardCharsets.UTF_8));
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        TestDatabase db = PostgresFixture.createDatabase("password_secrecy");
        EmbeddedConnectCluster connect = null;
        System.setErr(tee(err, captured));
        System.setOut(tee(out, captured));
        pgjdbc.setLevel(Level.ALL);
        pgjdbc.addHandler(pgjdbcCapture);
        try {
            db.execute("CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t SELECT generate_series(1, 100)");
            connect = ConnectFixture.start("password-secrecy");
            // Validation, with a reachable and an unreachable database.
            Map<String, String> config = db.connectorConfig("sec", "public\\.t");
            config.put("connection.password", PASSWORD);
            String validation = connect.validateConnectorConfig(PgKeysetSourceConnector.class.getSimpleName(), config)
                    .toString();
            Map<String, String> unreachable = new java.util.HashMap<>(config);
            unreachable.put("connection.url", "jdbc:postgresql://127.0.0.1:1/nowhere" + URL_SECRETS
                    + "&connectTimeout=1");
            String unreachableValidation = connect.validateConnectorConfig(
                    PgKeysetSourceConnector.class.getSimpleName(), unreachable).toString();
            // Passwords in the URL: a reachable database, and the user:password@host forms (refused).
            Map<String, String> inUrl = new java.util.HashMap<>(config);
            inUrl.put("connection.url", db.jdbcUrl() + URL_SECRETS);
            String urlValidation = connect.validateConnectorConfig(PgKeysetSourceConnector.class.getSimpleName(),
                    inUrl).toString();
            List<String> userInfoValidations = new java.util.ArrayList<>();
            for (String form : new String[] {"jdbc:postgresql://someone:" + USERINFO_PASSWORD + "@127.0.0.1:5432/"
                    + db.name(), "postgresql://someone:" + USERINFO_PASSWORD + "@127.0.0.1/" + db.name()}) {
                Map<String, String> userInfo = new java.util.HashMap<>(config);
                userInfo.put("connection.url", form);
                userInfoValidations.add(connect.validateConnectorConfig(PgKeysetSourceConnector.class.getSimpleName(),
                        userInfo).toString());
            }
            assertTrue(userInfoValidations.get(0).contains("connection.user"), "refused with the remedy: "
                    + userInfoValidations.get(0));
            // A connector that runs (trust auth ignores the password) and one that fails to start.
            connect.configureConnector("sec-ok", config);
            connect.assertions().assertConnectorAndExactlyNumTasksAreRunning("sec-ok", 1, "did not start");
            connect.configureConnector("sec-url-ok", inUrl);
            connect.assertions().assertConnectorAndExactlyNumTasksAreRunning("sec-url-ok", 1, "did not start");
            // Refused by the worker's validation: the refusal is a REST answer too.
            Map<String, String> missingDb = new java.util.HashMap<>(config);
            missingDb.put("connection.url", db.jdbcUrl().replace(db.name(), "no_such_database_here") + URL_SECRETS);
            String refusal = "";
            try {
                connect.configureConnector("sec-refused", missingDb);
            } catch (org.apache.kafka.connect.runtime.rest.errors.ConnectRestException e) {
                refusal = e.getMessage();
            }
            assertTrue(refusal.contains("no_such_database_here"), "refused: " + refusal);
            // A connector whose database disappears fails when it restarts.
            TestDatabase doomed = PostgresFixture.createDatabase("password_secrecy_doomed");
            doomed.execute("CREATE TABLE t (id int PRIMARY KEY)");
            Map<String, String> doomedConfig = doomed.connectorConfig("doomed", "public\\.t");
            doomedConfig.put("connection.password", PASSWORD);
            doomedConfig.put("connection.url", doomed.jdbcUrl() + URL_SECRETS); // the failure prints the URL
            connect.configureConnector("sec-failing", doomedConfig);
            connect.assertions().assertConnectorAndExactlyNumTasksAreRunning("sec-failing", 1, "did not start");
            doomed.close();
            String restartAnswer = "";
            try {
                connect.restartConnector("sec-failing");
            } catch (org.apache.kafka.connect.runtime.rest.errors.ConnectRestException e) {
                restartAnswer = e.getMessage(); // "Failed to start connector": the status has the reason
            }
            EmbeddedConnectCluster cluster = connect;
            ConnectFixture.waitFor("the failing connector to report its failure", Duration.ofSeconds(60), () -> {
                ConnectorStateInfo state = cluster.connectorStatus("sec-failing");
                return state != null && "FAILED".equals(state.connector().state());
            });
            String failure = connect.connectorStatus("sec-failing").toString()
                    + connect.connectorStatus("sec-failing").connector().trace();
            String running = connect.connectorStatus("sec-ok").toString()
                    + connect.connectorStatus("sec-url-ok").toString();

            List<String> answers = new java.util.ArrayList<>(List.of(validation, unreachableValidation, urlValidation,
                    refusal, restartAnswer, failure, running));
            answers.addAll(userInfoValidations);
            for (String answer : answers) {
                for (String secret : SECRETS) {
                    assertFalse(answer.contains(secret), "a password in a REST answer: " + answer);
                }
            }
            assertTrue(failure.contains("password_secrecy_doomed"), "the failure is reported: " + failure);
            assertTrue(failure.contains("password=***"),
                    "the failure shows the URL, masked: " + failure);
        } finally {
            pgjdbc.removeHandler(pgjdbcCapture);
            pgjdbc.setLevel(pgjdbcLevel);
            System.setErr(err);
            System.setOut(out);
            ConnectFixture.stopAll(connect, db);
        }
        String logs;
        synchronized (captured) {
            logs = captured.toString(StandardCharsets.UTF_8);
        }
        assertTrue(logs.contains("TableReader") && logs.contains("org.postgresql"),
                "the capture saw the connector's and pgjdbc's log lines (" + logs.length() + " chars)");
        assertTrue(logs.contains("password_secrecy_doomed"), "the capture saw the failure");
        for (String secret : SECRETS) {
            int at = logs.indexOf(secret);
            assertFalse(at >= 0, "a password was logged: ..."
                    + logs.substring(Math.max(0, at - 300), Math.min(logs.length(), at + 100)) + "...");
        }
    }
}

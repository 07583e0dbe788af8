package dev.pgkeyset.connect.config;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigValue;
import org.apache.kafka.connect.errors.ConnectException;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.PgKeysetSourceConnector;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * Secrets in forms of connection.url that {@code PasswordSecrecyIT} does not write: a password
 * before the host holding a '?' (which looks like the start of the query), and the user's
 * {@code options} setting a secret-named setting. Neither may come back in a validation answer
 * (the value echoed, the error messages) nor in the exception of a connector that cannot start.
 */
class UrlSecretFormsIT {

    private static final String QUESTION_PASSWORD = "Pa?ss-5e1f-SECRET";
    private static final String OPTIONS_SECRET = "Tok-77c3-SECRET";

    private static String answer(Config config) {
        StringBuilder text = new StringBuilder();
        for (ConfigValue value : config.configValues()) {
            text.append(value.name()).append('=').append(value.value()).append(' ')
                    .append(value.errorMessages()).append('\n');
        }
        return text.toString();
    }

    @Test
    void aQuestionMarkInAPasswordBeforeTheHostIsRefusedAndMasked() {
        try (TestDatabase db = PostgresFixture.createDatabase("url_secret_forms")) {
            Map<String, String> config = db.connectorConfig("s", "public\\.t");
            config.put("connection.url", "jdbc:postgresql://someone:" + QUESTION_PASSWORD + "@127.0.0.1:5432/"
                    + db.name());
            String answer = answer(new PgKeysetSourceConnector().validate(config));
            assertFalse(answer.contains(QUESTION_PASSWORD) || answer.contains("-5e1f-"), answer);
            assertTrue(answer.contains("connection.user"), "refused with the remedy: " + answer);
        }
    }

    @Test
    void aSecretSetInOptionsIsMaskedInMessages() {
        try (TestDatabase db = PostgresFixture.createDatabase("url_secret_forms")) {
            Map<String, String> config = db.connectorConfig("s", "public\\.t");
            // A database that does not exist: the failure names the URL.
            config.put("connection.url", db.jdbcUrl().replace(db.name(), "no_such_db_here")
                    + "?options=-c%20app.api_token%3D" + OPTIONS_SECRET);
            String answer = answer(new PgKeysetSourceConnector().validate(config));
            assertFalse(answer.contains(OPTIONS_SECRET), answer);
            assertTrue(answer.contains("no_such_db_here"), "the failure is reported: " + answer);
            PgKeysetSourceConnector connector = new PgKeysetSourceConnector();
            ConnectException failure = assertThrows(ConnectException.class, () -> connector.start(config));
            String message = failure.getMessage() + " " + failure.getCause();
            assertFalse(message.contains(OPTIONS_SECRET), message);
            assertTrue(message.contains("no_such_db_here"), message);
        }
    }
}

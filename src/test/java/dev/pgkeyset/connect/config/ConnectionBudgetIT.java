package dev.pgkeyset.connect.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;

import org.apache.kafka.common.config.ConfigValue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.PgKeysetSourceConnector;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * validate() compares the connections a configuration may open with what the role may open: six
 * one-table tasks and the connector's own connection do not fit a CONNECTION LIMIT of 3.
 */
class ConnectionBudgetIT {

    private static final int TABLES = 6;

    private TestDatabase db;
    private String role;

    @BeforeEach
    void setUp() {
        db = PostgresFixture.createDatabase("connection_budget");
        role = "pgk_budget_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffL);
        db.execute("CREATE ROLE " + role + " LOGIN CONNECTION LIMIT 3", "GRANT USAGE ON SCHEMA public TO " + role);
        for (int i = 0; i < TABLES; i++) {
            db.execute("CREATE TABLE t" + i + " (id int PRIMARY KEY)", "GRANT SELECT ON t" + i + " TO " + role);
        }
    }

    @AfterEach
    void tearDown() throws Exception {
        db.close();
        PostgresFixture.Server s = PostgresFixture.server();
        try (Connection admin = DriverManager.getConnection(s.jdbcUrl("postgres"), s.user(), s.password());
             Statement st = admin.createStatement()) {
            st.execute("DROP ROLE IF EXISTS " + role);
        }
    }

    private Map<String, List<String>> errors(String tasksMax) {
        Map<String, String> props = db.connectorConfig("b", "public\\.t[0-9]");
        props.put("connection.user", role);
        props.remove("connection.password");
        props.put("tasks.max", tasksMax);
        List<ConfigValue> values = new PgKeysetSourceConnector().validate(props).configValues();
        return values.stream().filter(v -> !v.errorMessages().isEmpty())
                .collect(Collectors.toMap(ConfigValue::name, ConfigValue::errorMessages));
    }

    @Test
    void tooManyTasksForTheRolesConnectionLimitIsReportedOnTasksMax() {
        Map<String, List<String>> errors = errors(String.valueOf(TABLES));
        assertEquals(List.of("tasks.max"), List.copyOf(errors.keySet()), "errors: " + errors);
        String message = errors.get("tasks.max").get(0);
        System.out.println("validate on tasks.max: " + message);
        assertTrue(message.contains(role) && message.contains("CONNECTION LIMIT 3") && message.contains("7"),
                message);
        // Two tasks of three tables each would open 2 + 2 + 1: only one task fits.
        assertTrue(message.contains("lower tasks.max to 1"), message);
    }

    @Test
    void tasksThatFitPass() {
        // One task: its pool of two (it reads six tables) and the connector's own connection.
        assertEquals(Map.of(), errors("1"));
    }
}

package dev.pgkeyset.connect.config;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.ConfigValue;

import dev.pgkeyset.connect.pg.ConnectionBudget;
import dev.pgkeyset.connect.pg.ConnectionFactory;
import dev.pgkeyset.connect.pg.JdbcUrls;
import dev.pgkeyset.connect.pg.SqlErrors;
import dev.pgkeyset.connect.changes.query.ChangePreconditions;
import dev.pgkeyset.connect.tables.CapturedTable;
import dev.pgkeyset.connect.tables.TableDiscovery;
import dev.pgkeyset.connect.snapshot.TaskAssignment;

/**
 * The checks behind {@code PUT /connector-plugins/.../config/validate} that one key's validator
 * cannot make: combinations of keys and what the database says. Each error is attached to the key
 * a person has to change; no stack trace reaches the response. What capture.mode=wal needs of the
 * server, role, slot and publication is in {@link WalPreconditions}; the replica identity of each
 * table is checked by table discovery.
 */
public final class ConnectorValidation {

    /** Kafka Connect's own key (ConnectorConfig.TASKS_MAX_CONFIG), named here to keep the runtime off our classpath. */
    static final String TASKS_MAX = "tasks.max";

    private ConnectorValidation() {
    }

    public static Config validate(Config perKey, Map<String, String> props, int connectTimeoutSeconds) {
        Map<String, ConfigValue> values = perKey.configValues().stream()
                .collect(Collectors.toMap(ConfigValue::name, Function.identity()));
        // The REST answer echoes each value: a password written in the URL must not come back in it.
        ConfigValue url = values.get(PgKeysetConfig.CONNECTION_URL);
        if (url != null && url.value() instanceof String text) {
            url.value(JdbcUrls.redact(text));
        }
        if (values.values().stream().anyMatch(v -> !v.errorMessages().isEmpty())) {
            return perKey; // fix the single keys first; a connection attempt would only add noise
        }
        PgKeysetConfig config;
        try {
            config = new PgKeysetConfig(props);
        } catch (ConfigException e) {
            // The list formats (key.columns, incremental.columns, patterns) name their key in the message.
            String key = keyNamedIn(e.getMessage(), values);
            values.get(key).addErrorMessage(e.getMessage());
            return perKey;
        }
        try (Connection connection = ConnectionFactory.openOnce(config, connectTimeoutSeconds)) {
            TableDiscovery.Result found = TableDiscovery.discover(connection, config);
            for (ChangePreconditions.Problem problem : ChangePreconditions.check(connection, config, found.captured())) {
                values.get(problem.key()).addErrorMessage(problem.message());
            }
            boolean wal = config.captureMode() == CaptureMode.WAL;
            if (wal) {
                for (WalSetupChecks.Problem problem : WalPreconditions.check(connection, config, found.captured(),
                        tasksMax(props))) {
                    valueOf(problem.key(), props, values).addErrorMessage(problem.message());
                }
            }
            if (!wal || tasksMax(props).orElse(1) <= 1) {
                checkConnectionBudget(connection, props, found, values, wal);
            }
            connection.commit();
            if (found.captured().isEmpty() && found.problems().isEmpty()) {
                values.get(PgKeysetConfig.TABLE_INCLUDE_LIST).addErrorMessage("No table of the database matches "
                        + "table.include.list (after table.exclude.list); patterns must match 'schema.table' as a whole");
            }
            Map<String, List<String>> byKey = new LinkedHashMap<>();
            for (String problem : found.problems()) {
                String key = problem.startsWith(PgKeysetConfig.KEY_COLUMNS) ? PgKeysetConfig.KEY_COLUMNS
                        : problem.startsWith(PgKeysetConfig.INCREMENTAL_COLUMNS) ? PgKeysetConfig.INCREMENTAL_COLUMNS
                        : problem.startsWith(PgKeysetConfig.SOFT_DELETE_COLUMN) ? PgKeysetConfig.SOFT_DELETE_COLUMN
                        : PgKeysetConfig.TABLE_INCLUDE_LIST;
                byKey.computeIfAbsent(key, k -> new ArrayList<>()).add(problem);
            }
            // Thousands of tables without a key must not make an answer of half a million characters.
            byKey.forEach((key, problems) -> Summary.firstFew(problems, Summary.PROBLEMS_SHOWN)
                    .forEach(values.get(key)::addErrorMessage));
        } catch (SQLException e) {
            connectionProblem(values, e);
        }
        return withAddedValues(perKey, values);
    }

    /** perKey plus the values validation added (tasks.max is the worker's key, not in our ConfigDef). */
    private static Config withAddedValues(Config perKey, Map<String, ConfigValue> values) {
        if (values.size() == perKey.configValues().size()) {
            return perKey;
        }
        List<ConfigValue> all = new java.util.ArrayList<>(perKey.configValues());
        values.values().stream().filter(v -> !perKey.configValues().contains(v)).forEach(all::add);
        return new Config(all);
    }

    /** The tasks' pools and the connector's own connection must fit what the server, database and role allow. */
    private static void checkConnectionBudget(Connection connection, Map<String, String> props,
                                              TableDiscovery.Result found, Map<String, ConfigValue> values,
                                              boolean wal) throws SQLException {
        Optional<Integer> tasks = tasksMax(props);
        if (tasks.isEmpty()) {
            return; // the worker reports a malformed tasks.max itself
        }
        // Upper bound of the pieces TaskAssignment may make: large tables split into key ranges
        // (never in wal mode: one task reads every table whole).
        int pieces = 0;
        for (CapturedTable table : found.captured()) {
            long ranges = wal ? 1 : table.info().estimatedRows() / TaskAssignment.MIN_ROWS_PER_RANGE;
            pieces += (int) Math.max(1, Math.min(TaskAssignment.MAX_RANGES, ranges));
        }
        Optional<String> problem = ConnectionBudget.problem(connection, tasks.get(), Math.max(1, pieces));
        problem.ifPresent(p -> valueOf(TASKS_MAX, props, values).addErrorMessage(p));
    }

    /** tasks.max as the worker will read it; empty when malformed (the worker reports that itself). */
    private static Optional<Integer> tasksMax(Map<String, String> props) {
        try {
            return Optional.of(Integer.parseInt(props.getOrDefault(TASKS_MAX, "1").trim()));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** The value of a key; tasks.max, not a key of ours, is added (the worker merges it with its own). */
    private static ConfigValue valueOf(String key, Map<String, String> props, Map<String, ConfigValue> values) {
        return values.computeIfAbsent(key, k -> new ConfigValue(k, props.get(k), new ArrayList<>(), new ArrayList<>()));
    }

    private static void connectionProblem(Map<String, ConfigValue> values, SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String message = "Could not connect: " + SqlErrors.describe(e);
        if (state.startsWith("28")) {
            values.get(PgKeysetConfig.CONNECTION_USER).addErrorMessage(message);
            values.get(PgKeysetConfig.CONNECTION_PASSWORD).addErrorMessage(message);
        } else {
            values.get(PgKeysetConfig.CONNECTION_URL).addErrorMessage(message);
        }
    }

    private static String keyNamedIn(String message, Map<String, ConfigValue> values) {
        for (String key : new String[] {PgKeysetConfig.KEY_COLUMNS, PgKeysetConfig.INCREMENTAL_COLUMNS,
                PgKeysetConfig.TABLE_INCLUDE_LIST, PgKeysetConfig.TABLE_EXCLUDE_LIST}) {
            if (message.contains(key)) {
                return key;
            }
        }
        return PgKeysetConfig.TABLE_INCLUDE_LIST;
    }
}

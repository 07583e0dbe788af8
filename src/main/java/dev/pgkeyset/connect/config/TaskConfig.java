package dev.pgkeyset.connect.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.pgkeyset.connect.pg.TableId;

/** A task's configuration: the connector's, plus the tables the connector assigned to this task. */
public final class TaskConfig extends PgKeysetConfig {

    public static final String TASK_TABLES = "task.tables";
    private static final String TASK_TABLES_DOC = "Internal: the tables this task reads, as a JSON array of "
            + "[schema, table] pairs (JSON, because names may contain commas and dots).";

    private static final ObjectMapper JSON = new ObjectMapper();

    public static final ConfigDef TASK_CONFIG_DEF = new ConfigDef(CONFIG_DEF)
            .define(TASK_TABLES, Type.STRING, Importance.HIGH, TASK_TABLES_DOC);

    public TaskConfig(Map<String, String> props) {
        super(TASK_CONFIG_DEF, props);
    }

    public List<TableId> tables() {
        try {
            List<List<String>> pairs = JSON.readValue(getString(TASK_TABLES), new TypeReference<>() { });
            List<TableId> tables = new ArrayList<>(pairs.size());
            for (List<String> pair : pairs) {
                tables.add(new TableId(pair.get(0), pair.get(1)));
            }
            return tables;
        } catch (JsonProcessingException | RuntimeException e) {
            throw new ConfigException(TASK_TABLES, getString(TASK_TABLES), "malformed table assignment");
        }
    }

    public static String encodeTables(List<TableId> tables) {
        try {
            return JSON.writeValueAsString(tables.stream().map(t -> List.of(t.schema(), t.table())).toList());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}

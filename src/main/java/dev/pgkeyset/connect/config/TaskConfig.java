package dev.pgkeyset.connect.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.pgkeyset.connect.offset.KeySplit;
import dev.pgkeyset.connect.pg.TableId;

/** A task's configuration: the connector's, plus the tables the connector assigned to this task. */
public final class TaskConfig extends PgKeysetConfig {

    public static final String TASK_TABLES = "task.tables";
    private static final String TASK_TABLES_DOC = "Internal: the tables and key ranges this task reads (see "
            + "encodeSlices).";

    private static final ObjectMapper JSON = new ObjectMapper();

    public static final ConfigDef TASK_CONFIG_DEF = new ConfigDef(CONFIG_DEF)
            .define(TASK_TABLES, Type.STRING, Importance.HIGH, TASK_TABLES_DOC);

    public TaskConfig(Map<String, String> props) {
        super(TASK_CONFIG_DEF, props);
    }

    /** The slices this task reads, in the order assigned. */
    public List<TableSlice> slices() {
        try {
            JsonNode entries = JSON.readTree(getString(TASK_TABLES));
            List<TableSlice> slices = new ArrayList<>(entries.size());
            for (JsonNode entry : entries) {
                TableId table = new TableId(entry.get(0).asText(), entry.get(1).asText());
                if (entry.size() == 2) {
                    slices.add(TableSlice.whole(table));
                } else if ("range".equals(entry.get(2).asText())) {
                    slices.add(TableSlice.range(table, entry.get(3).asInt(), KeySplit.fromJson(entry.get(4).asText())));
                } else {
                    throw new IllegalArgumentException("unknown slice " + entry);
                }
            }
            return slices;
        } catch (JsonProcessingException | RuntimeException e) {
            // Not the value: it holds split boundaries (key values) and grows with the tables assigned.
            throw new ConfigException(TASK_TABLES, "(" + getString(TASK_TABLES).length() + " characters)",
                    "malformed table assignment");
        }
    }

    /** The tables of {@link #slices()}, each once. */
    public List<TableId> tables() {
        return slices().stream().map(TableSlice::table).distinct().toList();
    }

    /**
     * JSON, because names may contain commas and dots: {@code [["public","orders"],
     * ["public","big","range",0,"[[100000]]"],["public","big","range",1,"[[100000]]"]]}.
     */
    public static String encodeSlices(List<TableSlice> slices) {
        List<List<Object>> entries = new ArrayList<>(slices.size());
        for (TableSlice slice : slices) {
            List<Object> entry = new ArrayList<>(List.of(slice.table().schema(), slice.table().table()));
            switch (slice.part()) {
                case WHOLE -> { }
                case RANGE -> entry.addAll(List.of("range", slice.range(), slice.split().json()));
            }
            entries.add(entry);
        }
        try {
            return JSON.writeValueAsString(entries);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}

package dev.pgkeyset.connect.config;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

import org.apache.kafka.common.config.ConfigDef;

/**
 * Renders the configuration reference of the README from the {@link ConfigDef}, so the two cannot
 * drift: a test compares them. {@code java -cp ... dev.pgkeyset.connect.config.ConfigDocs} prints it.
 */
public final class ConfigDocs {

    public static final String BEGIN = "<!-- config-table:begin (generated from the ConfigDef by ConfigDocs) -->";
    public static final String END = "<!-- config-table:end -->";

    private ConfigDocs() {
    }

    public static String markdownTable() {
        StringBuilder out = new StringBuilder();
        out.append("| key | type | default | valid values | importance | description |\n");
        out.append("|---|---|---|---|---|---|\n");
        List<ConfigDef.ConfigKey> keys = PgKeysetConfig.CONFIG_DEF.configKeys().values().stream()
                .sorted((a, b) -> a.group.equals(b.group) ? Integer.compare(a.orderInGroup, b.orderInGroup)
                        : Integer.compare(groupOrder(a.group), groupOrder(b.group)))
                .collect(Collectors.toList());
        for (ConfigDef.ConfigKey key : keys) {
            out.append("| `").append(key.name).append("` | ")
                    .append(key.type.name().toLowerCase(Locale.ROOT)).append(" | ")
                    .append(defaultOf(key)).append(" | ")
                    .append(key.validator == null ? "" : escape(key.validator.toString())).append(" | ")
                    .append(key.importance.name().toLowerCase(Locale.ROOT)).append(" | ")
                    .append(escape(key.documentation)).append(" |\n");
        }
        return out.toString();
    }

    private static int groupOrder(String group) {
        return PgKeysetConfig.CONFIG_DEF.groups().indexOf(group);
    }

    private static String defaultOf(ConfigDef.ConfigKey key) {
        if (!key.hasDefault()) {
            return "required";
        }
        if (key.defaultValue == null) {
            return "none";
        }
        String text = key.defaultValue instanceof List<?> list
                ? list.stream().map(String::valueOf).collect(Collectors.joining(","))
                : String.valueOf(key.defaultValue);
        return text.isEmpty() ? "\"\"" : "`" + text + "`";
    }

    private static String escape(String text) {
        return text.replace("|", "\\|").replace("\n", " ");
    }

    public static void main(String[] args) {
        System.out.print(BEGIN + "\n" + markdownTable() + END + "\n");
    }
}

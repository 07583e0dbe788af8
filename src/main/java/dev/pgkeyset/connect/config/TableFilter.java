package dev.pgkeyset.connect.config;

import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import org.apache.kafka.common.config.ConfigException;

import dev.pgkeyset.connect.pg.TableId;

/**
 * Which tables are captured: {@code schema.table} must match one include pattern as a whole and
 * no exclude pattern. Patterns are Java regular expressions; {@code public.orders} therefore also
 * matches {@code public_orders} unless the dot is escaped, as with every regex-based include list.
 */
public final class TableFilter {

    private final List<Pattern> include;
    private final List<Pattern> exclude;

    private TableFilter(List<Pattern> include, List<Pattern> exclude) {
        this.include = include;
        this.exclude = exclude;
    }

    public static TableFilter of(String includeKey, List<String> include, String excludeKey, List<String> exclude) {
        return new TableFilter(compile(includeKey, include), compile(excludeKey, exclude));
    }

    private static List<Pattern> compile(String key, List<String> regexes) {
        return regexes.stream().map(String::trim).filter(s -> !s.isEmpty()).map(regex -> {
            try {
                return Pattern.compile(regex);
            } catch (PatternSyntaxException e) {
                throw new ConfigException(key, regex, "not a valid regular expression: " + e.getDescription());
            }
        }).toList();
    }

    public boolean captures(TableId table) {
        String name = table.canonical();
        return include.stream().anyMatch(p -> p.matcher(name).matches())
                && exclude.stream().noneMatch(p -> p.matcher(name).matches());
    }
}

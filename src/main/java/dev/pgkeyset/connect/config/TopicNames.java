package dev.pgkeyset.connect.config;

import java.util.Locale;

import dev.pgkeyset.connect.pg.TableId;

/** Topic names for tables: {@code <prefix>.<schema>.<table>}, made legal for Kafka. */
public final class TopicNames {

    /** Kafka's own limit on a topic name's length. */
    public static final int MAX_LENGTH = 249;

    private TopicNames() {
    }

    /**
     * The topic of a table. A name longer than Kafka allows is cut and ends with a hash of the
     * whole name, so two long names that share a beginning still get two topics.
     */
    public static String forTable(String prefix, TableId table) {
        String name = sanitize(prefix + "." + table.schema() + "." + table.table());
        if (name.length() <= MAX_LENGTH) {
            return name;
        }
        String hash = String.format(Locale.ROOT, "%08x",
                (prefix + "\u0000" + table.schema() + "\u0000" + table.table()).hashCode());
        return name.substring(0, MAX_LENGTH - hash.length() - 1) + "_" + hash;
    }

    /** Every character outside {@code [A-Za-z0-9._-]} becomes {@code _}, one {@code _} per code point. */
    public static String sanitize(String name) {
        StringBuilder out = new StringBuilder(name.length());
        name.codePoints().forEach(cp -> out.append(isLegal(cp) ? (char) cp : '_'));
        return out.toString();
    }

    private static boolean isLegal(int cp) {
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9')
                || cp == '.' || cp == '_' || cp == '-';
    }
}

package dev.pgkeyset.connect.pg;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The settings every connector session runs with, sent as the startup parameter {@code options}
 * ({@code -c name=value ...}), so they belong to the session itself: a rolled-back transaction
 * cannot take them back (a {@code SET} run in a session's first transaction is undone with it),
 * and neither the database's nor the role's defaults ({@code ALTER DATABASE/ROLE ... SET}) can
 * change them, since a client's startup parameters take precedence over both.
 *
 * <p>Each pins something the connector's reading depends on:
 * <ul>
 * <li>output functions whose text the converters parse: {@code extra_float_digits} (float4/float8
 *     inside arrays, geometric types, composites; 1 is the shortest exact form), {@code IntervalStyle}
 *     (ISO 8601), {@code bytea_output} (hex), {@code DateStyle} (ISO; pgjdbc also insists on it);</li>
 * <li>how the connector's own SQL and binds parse: {@code standard_conforming_strings},
 *     {@code array_nulls}, {@code xmloption}; and {@code quote_all_identifiers}, which changes the
 *     type names {@code format_type()} gives for the casts of the binds;</li>
 * <li>{@code default_transaction_isolation}: read committed, which the change phase needs (each
 *     change query must see every transaction its horizon saw end, so it takes its own snapshot).</li>
 * </ul>
 * Deliberately not pinned: {@code TimeZone} (pgjdbc sends the JVM's zone, which also outranks the
 * database's and role's; timestamptz text carries its offset, and the change phase's handling of
 * {@code timestamp} columns is the tracking type's business), {@code search_path} (extension types
 * such as citext find their operators through it; PostgreSQL searches {@code pg_catalog} first
 * unless the path names it later), {@code lc_monetary} (money is read as numeric, whose scale is
 * the locale's: pinning it would change the values), {@code client_encoding} (pgjdbc sets UTF8 and
 * refuses a change).
 */
public final class SessionOptions {

    /** Setting → value, in the {@code -c} syntax of the {@code options} startup parameter. */
    static final Map<String, String> PINNED = pinned();

    private SessionOptions() {
    }

    private static Map<String, String> pinned() {
        Map<String, String> pinned = new LinkedHashMap<>();
        pinned.put("extra_float_digits", "1");
        pinned.put("IntervalStyle", "iso_8601");
        pinned.put("bytea_output", "hex");
        pinned.put("DateStyle", "ISO,MDY");
        pinned.put("standard_conforming_strings", "on");
        pinned.put("array_nulls", "on");
        pinned.put("xmloption", "content");
        pinned.put("quote_all_identifiers", "off");
        // In options a backslash escapes the space.
        pinned.put("default_transaction_isolation", "read\\ committed");
        return java.util.Collections.unmodifiableMap(pinned);
    }

    /** A JDBC URL without its {@code options} parameter, and that parameter's decoded value (null if none). */
    record SplitUrl(String url, String userOptions) {
    }

    /**
     * Takes the user's own {@code options} out of the URL: pgjdbc lets a URL parameter replace a
     * property of the same name, so left in the URL it would replace ours instead of joining them.
     */
    static SplitUrl split(String url) {
        int query = url.indexOf('?');
        if (query < 0) {
            return new SplitUrl(url, null);
        }
        List<String> kept = new ArrayList<>();
        String options = null;
        for (String parameter : url.substring(query + 1).split("&")) {
            int eq = parameter.indexOf('=');
            String name = eq < 0 ? parameter : parameter.substring(0, eq);
            String value = name.equals("options") ? decoded(eq < 0 ? "" : parameter.substring(eq + 1)) : null;
            if (value != null) {
                options = options == null ? value : options + " " + value;
            } else if (!parameter.isEmpty()) {
                kept.add(parameter);
            }
        }
        String base = url.substring(0, query);
        return new SplitUrl(kept.isEmpty() ? base : base + "?" + String.join("&", kept), options);
    }

    /** Null when malformed: left in the URL, pgjdbc then reports it the way it reports any bad parameter. */
    private static String decoded(String value) {
        try {
            return URLDecoder.decode(value, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * Pinned on the replication session only, on top of {@link #PINNED}: the walsender runs
     * {@code money_out} under it, and the WAL reader parses that text; {@code C} gives
     * {@code $1,234.56} whatever the server's locale. (The snapshot reads money as numeric, so
     * its sessions keep the server's {@code lc_monetary}, see above.)
     */
    static final Map<String, String> REPLICATION_PINNED = Map.of("lc_monetary", "C");

    /** The user's options first, ours after them: of two {@code -c} of one setting the later wins. */
    static String merged(String userOptions) {
        return merged(userOptions, Map.of());
    }

    /** As {@link #merged(String)}, for the replication connection (adds {@link #REPLICATION_PINNED}). */
    static String mergedForReplication(String userOptions) {
        return merged(userOptions, REPLICATION_PINNED);
    }

    private static String merged(String userOptions, Map<String, String> extra) {
        StringBuilder options = new StringBuilder();
        if (userOptions != null && !userOptions.isBlank()) {
            options.append(userOptions.strip()).append(' ');
        }
        PINNED.forEach((name, value) -> options.append("-c ").append(name).append('=').append(value).append(' '));
        extra.forEach((name, value) -> options.append("-c ").append(name).append('=').append(value).append(' '));
        return options.toString().strip();
    }
}

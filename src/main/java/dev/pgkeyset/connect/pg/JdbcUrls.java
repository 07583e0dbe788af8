package dev.pgkeyset.connect.pg;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;

/**
 * The one place that prints a {@code connection.url}: passwords may sit in it ({@code ?password=},
 * {@code &sslpassword=}, or a {@code user:password@host} authority), and a URL reaches exception
 * messages, the worker log and the REST status trace. Also keeps those secrets away from the
 * driver's URL, where pgjdbc would repeat them in its own messages and logs.
 */
public final class JdbcUrls {

    /** What a secret is replaced with. */
    public static final String MASK = "***";

    /** The pgjdbc parameters that carry a password; they go to the driver as properties instead. */
    private static final Set<String> DRIVER_SECRETS = Set.of("password", "sslpassword");

    private JdbcUrls() {
    }

    /** A parameter name that looks like it holds a secret, whatever the driver: masked when printed. */
    private static boolean secretName(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        return lower.contains("password") || lower.contains("passwd") || lower.contains("pwd")
                || lower.contains("secret") || lower.contains("token");
    }

    /**
     * The URL with every secret masked: {@code jdbc:postgresql://h/db?user=u&password=***},
     * {@code postgresql://u:***@h/db}. Safe for any string, URL or not.
     */
    public static String redact(String url) {
        if (url == null) {
            return "null";
        }
        int query = url.indexOf('?');
        String base = query < 0 ? url : url.substring(0, query);
        String redacted = redactAuthority(base);
        if (query < 0) {
            return redacted;
        }
        StringBuilder out = new StringBuilder(redacted).append('?');
        String[] parameters = url.substring(query + 1).split("&", -1);
        for (int i = 0; i < parameters.length; i++) {
            String parameter = parameters[i];
            int eq = parameter.indexOf('=');
            out.append(i == 0 ? "" : "&");
            out.append(eq >= 0 && secretName(parameter.substring(0, eq)) ? parameter.substring(0, eq + 1) + MASK
                    : parameter);
        }
        return out.toString();
    }

    /** Masks what follows the first ':' of a {@code user:password@} before the host (up to the last '@'). */
    private static String redactAuthority(String base) {
        int start = base.indexOf("//");
        int at = base.lastIndexOf('@');
        if (start < 0 || at < start) {
            return base;
        }
        int colon = base.indexOf(':', start + 2);
        if (colon < 0 || colon > at) {
            return base;
        }
        return base.substring(0, colon + 1) + MASK + base.substring(at);
    }

    /** True when an '@' comes between "//" and the query: a user (and password) written before the host. */
    public static boolean hasUserInfo(String url) {
        int start = url.indexOf("//");
        int query = url.indexOf('?');
        int at = url.indexOf('@', Math.max(start, 0));
        return start >= 0 && at > start && (query < 0 || at < query);
    }

    /** A URL for the driver and the secrets taken out of it, to hand the driver as properties. */
    public record ForDriver(String url, Properties secrets) {
    }

    /**
     * Moves {@code password} and {@code sslpassword} from the URL's query into properties (decoded
     * as pgjdbc decodes them). The driver then gets the same settings, and the URL it may print
     * holds no secret. A URL parameter still wins over {@code connection.password}, as before: the
     * caller puts these properties over its own.
     */
    public static ForDriver forDriver(String url) {
        int query = url.indexOf('?');
        Properties secrets = new Properties();
        if (query < 0) {
            return new ForDriver(url, secrets);
        }
        StringBuilder kept = new StringBuilder();
        for (String parameter : url.substring(query + 1).split("&")) {
            int eq = parameter.indexOf('=');
            String name = eq < 0 ? parameter : parameter.substring(0, eq);
            if (eq >= 0 && DRIVER_SECRETS.contains(name)) {
                secrets.setProperty(name, URLDecoder.decode(parameter.substring(eq + 1), StandardCharsets.UTF_8));
            } else if (!parameter.isEmpty()) {
                kept.append(kept.length() == 0 ? "" : "&").append(parameter);
            }
        }
        String base = url.substring(0, query);
        return new ForDriver(kept.length() == 0 ? base : base + "?" + kept, secrets);
    }
}

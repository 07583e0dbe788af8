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
        // The user:password part first: its password may hold a '?', which would start the query.
        int at = userInfoEnd(url);
        String head = "";
        String rest = url;
        if (at >= 0) {
            int start = url.indexOf("//");
            int colon = url.indexOf(':', start + 2);
            head = colon >= 0 && colon < at ? url.substring(0, colon + 1) + MASK : url.substring(0, at);
            rest = url.substring(at);
        }
        int query = rest.indexOf('?');
        if (query < 0) {
            return head + rest;
        }
        StringBuilder out = new StringBuilder(head).append(rest, 0, query + 1);
        String[] parameters = rest.substring(query + 1).split("&", -1);
        for (int i = 0; i < parameters.length; i++) {
            String parameter = parameters[i];
            int eq = parameter.indexOf('=');
            out.append(i == 0 ? "" : "&");
            boolean secret = eq >= 0 && (secretName(parameter.substring(0, eq))
                    || parameter.substring(0, eq).equals("options") && optionsNameASecret(parameter.substring(eq + 1)));
            out.append(secret ? parameter.substring(0, eq + 1) + MASK : parameter);
        }
        return out.toString();
    }

    /**
     * Whether the user's {@code options} ({@code -c name=value ...}, URL-encoded) set a setting whose
     * name looks like a secret's ({@code -c app.api_token=...}): the whole value is masked then.
     */
    private static boolean optionsNameASecret(String encoded) {
        String decoded;
        try {
            decoded = URLDecoder.decode(encoded, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            decoded = encoded;
        }
        for (String word : decoded.split("[\\s=]+")) {
            if (secretName(word)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The index of the '@' that ends a {@code user[:password]} written before the host, or -1. The
     * host ends at the query's '?' or the path's '/'; a password may hold either (or an '@'), so the
     * last '@' before the first '?' is looked for, then the last before the first '/' of the path.
     * An '@' in the query ({@code ?user=me@corp}) is no user info.
     */
    static int userInfoEnd(String url) {
        int start = url.indexOf("//");
        if (start < 0) {
            return -1;
        }
        int query = url.indexOf('?', start + 2);
        int at = url.lastIndexOf('@', (query < 0 ? url.length() : query) - 1);
        if (at > start) {
            return at;
        }
        int slash = url.indexOf('/', start + 2);
        at = slash < 0 ? -1 : url.lastIndexOf('@', slash - 1);
        return at > start ? at : -1;
    }

    /** True when an '@' ends a user (and password) written before the host. */
    public static boolean hasUserInfo(String url) {
        return userInfoEnd(url) >= 0;
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

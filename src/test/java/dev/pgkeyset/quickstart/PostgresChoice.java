package dev.pgkeyset.quickstart;

import java.util.Map;
import java.util.function.Predicate;

/**
 * Which PostgreSQL the quickstart uses. A server the user names (PGHOST or PGPORT, or a
 * connection.url in the config file) always wins and must answer: it is never silently replaced.
 * With neither, a server answering on localhost:5432 is used; when nothing answers there, or with
 * {@code --embedded-postgres}, the quickstart starts its own PostgreSQL.
 */
record PostgresChoice(PostgresTarget userServer, String reason) {

    static final int DEFAULT_PORT = 5432;
    static final String CONFIG_FILE = "connection.url of the config file";

    boolean embedded() {
        return userServer == null;
    }

    /** The config file's connection.url wins over the PG* variables, so {@link #userServer} is not where it goes. */
    boolean fromConfigFile() {
        return CONFIG_FILE.equals(reason);
    }

    /**
     * @param answers whether a server accepts TCP connections at the target's host and port; asked
     *                only for the default localhost:5432, never for a server the user named
     */
    static PostgresChoice choose(Map<String, String> env, boolean embeddedFlag, boolean configNamesServer,
                                 Predicate<PostgresTarget> answers) throws Quickstart.Failure {
        if (embeddedFlag) {
            if (configNamesServer) {
                throw new Quickstart.Failure("--embedded-postgres and a connection.url in the config file "
                        + "contradict each other: drop one", 2);
            }
            return new PostgresChoice(null, "--embedded-postgres");
        }
        PostgresTarget fromEnv = fromEnvironment(env);
        if (configNamesServer) {
            return new PostgresChoice(fromEnv, CONFIG_FILE);
        }
        if (named(env, "PGHOST") || named(env, "PGPORT")) {
            return new PostgresChoice(fromEnv, "PGHOST/PGPORT");
        }
        if (answers.test(fromEnv)) {
            return new PostgresChoice(fromEnv, "no PGHOST set; a server answers on localhost:" + DEFAULT_PORT);
        }
        return new PostgresChoice(null, "no PGHOST set and nothing answers on localhost:" + DEFAULT_PORT);
    }

    /** The libpq variables, with libpq's defaults; a Unix socket directory becomes localhost (JDBC needs TCP). */
    static PostgresTarget fromEnvironment(Map<String, String> env) throws Quickstart.Failure {
        String host = named(env, "PGHOST") ? env.get("PGHOST") : "localhost";
        if (host.startsWith("/")) {
            host = "localhost";
        }
        String portText = named(env, "PGPORT") ? env.get("PGPORT") : Integer.toString(DEFAULT_PORT);
        int port;
        try {
            port = Integer.parseInt(portText.strip());
        } catch (NumberFormatException e) {
            throw new Quickstart.Failure("PGPORT must be a port number, not '" + portText + "'", 2);
        }
        String database = named(env, "PGDATABASE") ? env.get("PGDATABASE") : "postgres";
        String user = named(env, "PGUSER") ? env.get("PGUSER") : System.getProperty("user.name");
        return new PostgresTarget(host, port, database, user, env.get("PGPASSWORD"));
    }

    private static boolean named(Map<String, String> env, String variable) {
        String value = env.get(variable);
        return value != null && !value.isBlank();
    }
}

package dev.pgkeyset.quickstart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import org.junit.jupiter.api.Test;

/** Which PostgreSQL the quickstart picks, for each way a user may (or may not) name one. */
class PostgresChoiceTest {

    /** Records which servers were probed; answers as told. */
    private static final class Probe implements Predicate<PostgresTarget> {
        final List<PostgresTarget> asked = new ArrayList<>();
        final boolean answer;

        Probe(boolean answer) {
            this.answer = answer;
        }

        @Override
        public boolean test(PostgresTarget target) {
            asked.add(target);
            return answer;
        }
    }

    @Test
    void aNamedServerWinsAndIsNeverProbedOrReplaced() throws Exception {
        for (Map<String, String> env : List.of(Map.of("PGHOST", "db.example", "PGUSER", "app"),
                Map.of("PGPORT", "6543"))) {
            Probe silent = new Probe(false);
            PostgresChoice choice = PostgresChoice.choose(env, false, false, silent);
            assertFalse(choice.embedded(), env.toString());
            assertTrue(silent.asked.isEmpty(), "a named server is connected to, so it fails loudly: " + env);
        }
        PostgresChoice host = PostgresChoice.choose(Map.of("PGHOST", "db.example", "PGPORT", "6543",
                "PGDATABASE", "shop", "PGUSER", "app", "PGPASSWORD", "secret"), false, false, new Probe(false));
        assertEquals(new PostgresTarget("db.example", 6543, "shop", "app", "secret"), host.userServer());
        assertEquals("jdbc:postgresql://db.example:6543/shop", host.userServer().jdbcUrl());
    }

    @Test
    void withoutAServerNamedTheDefaultPortDecides() throws Exception {
        Probe answering = new Probe(true);
        PostgresChoice local = PostgresChoice.choose(Map.of(), false, false, answering);
        assertFalse(local.embedded());
        assertEquals(List.of(new PostgresTarget("localhost", 5432, "postgres", System.getProperty("user.name"), null)),
                answering.asked);

        PostgresChoice embedded = PostgresChoice.choose(Map.of("PGUSER", "app"), false, false, new Probe(false));
        assertTrue(embedded.embedded());
        assertEquals("no PGHOST set and nothing answers on localhost:5432", embedded.reason());
    }

    @Test
    void theFlagEmbedsWhateverTheVariablesSayButNotAgainstTheConfigFile() throws Exception {
        Probe answering = new Probe(true);
        assertTrue(PostgresChoice.choose(Map.of("PGHOST", "db.example", "PGPORT", "1"), true, false, answering)
                .embedded());
        assertTrue(answering.asked.isEmpty());
        Quickstart.Failure both = assertThrows(Quickstart.Failure.class,
                () -> PostgresChoice.choose(Map.of(), true, true, answering));
        assertEquals(2, both.exitCode);

        PostgresChoice file = PostgresChoice.choose(Map.of(), false, true, new Probe(false));
        assertFalse(file.embedded());
        assertTrue(file.fromConfigFile());
    }

    @Test
    void aUnixSocketHostBecomesLocalhostAndABadPortIsAnError() throws Exception {
        assertEquals("localhost", PostgresChoice.fromEnvironment(Map.of("PGHOST", "/var/run/postgresql")).host());
        assertEquals(2, assertThrows(Quickstart.Failure.class,
                () -> PostgresChoice.fromEnvironment(Map.of("PGPORT", "five"))).exitCode);
    }
}

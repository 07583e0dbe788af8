package dev.pgkeyset.connect.pg;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;

import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * The catalog lists user schemas whose names merely start with "pg" under every setting of
 * {@code standard_conforming_strings}: with it off, a literal 'pg\_%' loses its backslash and
 * becomes the pattern pg_% (any third character), which hid a schema named pgapp.
 */
class CatalogFilterIT {

    @Test
    void schemasStartingWithPgAreListedWhateverStandardConformingStringsSays() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("catalog_filter");
        String role = "pgkeyset_scs_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
        try {
            db.execute("CREATE SCHEMA pgapp", "CREATE SCHEMA pg", "CREATE SCHEMA \"pg%x\"", "CREATE SCHEMA pgx_",
                    "CREATE TABLE pgapp.t (id int PRIMARY KEY)", "CREATE TABLE pg.t (id int PRIMARY KEY)",
                    "CREATE TABLE \"pg%x\".t (id int PRIMARY KEY)", "CREATE TABLE pgx_.t (id int PRIMARY KEY)",
                    "CREATE TABLE public.t (id int PRIMARY KEY)",
                    "CREATE ROLE " + role + " LOGIN",
                    "ALTER ROLE " + role + " SET standard_conforming_strings = off",
                    "GRANT USAGE ON SCHEMA pgapp, pg, \"pg%x\", pgx_ TO " + role);
            // What PostgreSQL holds outside pg_catalog, pg_toast and information_schema: the tables made above.
            Set<String> expected = Set.of("pgapp.t", "pg.t", "pg%x.t", "pgx_.t", "public.t");
            for (String user : new String[] {db.user(), role}) {
                PgKeysetConfig config = new PgKeysetConfig(Map.of("connection.url", db.jdbcUrl(),
                        "connection.user", user, "topic.prefix", "p", "table.include.list", ".*"));
                try (Connection connection = ConnectionFactory.openOnce(config, 10)) {
                    try (Statement st = connection.createStatement();
                         ResultSet rs = st.executeQuery("SHOW standard_conforming_strings")) {
                        rs.next();
                        assertEquals(user.equals(role) ? "off" : "on", rs.getString(1), "the role's setting applies");
                    }
                    Set<String> listed = new TreeSet<>();
                    Catalog.tables(connection, id -> true).forEach(t -> listed.add(t.id().schema() + "." + t.id().table()));
                    connection.commit();
                    assertEquals(new TreeSet<>(expected), listed, "as " + user);
                }
            }
        } finally {
            db.execute("DROP OWNED BY " + role, "DROP ROLE " + role);
            db.close();
        }
    }
}

package dev.pgkeyset.connect.pg;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

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
        try {
            db.execute("CREATE SCHEMA pgapp", "CREATE SCHEMA pg", "CREATE SCHEMA \"pg%x\"", "CREATE SCHEMA pgx_",
                    "CREATE TABLE pgapp.t (id int PRIMARY KEY)", "CREATE TABLE pg.t (id int PRIMARY KEY)",
                    "CREATE TABLE \"pg%x\".t (id int PRIMARY KEY)", "CREATE TABLE pgx_.t (id int PRIMARY KEY)",
                    "CREATE TABLE public.t (id int PRIMARY KEY)");
            // What PostgreSQL holds outside pg_catalog, pg_toast and information_schema: the tables made above.
            Set<String> expected = Set.of("pgapp.t", "pg.t", "pg%x.t", "pgx_.t", "public.t");
            PgKeysetConfig config = new PgKeysetConfig(Map.of("connection.url", db.jdbcUrl(),
                    "connection.user", db.user(), "topic.prefix", "p", "table.include.list", ".*"));
            // The connector pins the setting on its sessions (SessionOptions); the filter must not
            // rely on that, so the session turns it off itself here.
            for (String setting : new String[] {"on", "off"}) {
                try (Connection connection = ConnectionFactory.openOnce(config, 10)) {
                    try (Statement st = connection.createStatement()) {
                        st.execute("SET standard_conforming_strings = " + setting);
                        try (ResultSet rs = st.executeQuery("SHOW standard_conforming_strings")) {
                            rs.next();
                            assertEquals(setting, rs.getString(1), "the session's setting applies");
                        }
                    }
                    Set<String> listed = new TreeSet<>();
                    Catalog.tables(connection, id -> true).forEach(t -> listed.add(t.id().schema() + "." + t.id().table()));
                    connection.commit();
                    assertEquals(new TreeSet<>(expected), listed, "with standard_conforming_strings=" + setting);
                }
            }
        } finally {
            db.close();
        }
    }
}

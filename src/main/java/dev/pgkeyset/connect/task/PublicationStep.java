package dev.pgkeyset.connect.task;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.apache.kafka.connect.errors.ConnectException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.config.PublicationAutocreate;
import dev.pgkeyset.connect.pg.Sql;
import dev.pgkeyset.connect.pg.TableId;

/**
 * The publication step of a task's start in capture.mode=wal, before the slot: with
 * publication.autocreate=filtered it is created for the captured tables, or set to them when
 * they differ; with disabled it must exist, hold every captured table and publish every kind
 * of change.
 */
final class PublicationStep {

    private static final Logger log = LoggerFactory.getLogger(PublicationStep.class);

    private PublicationStep() {
    }

    static void ensure(Connection connection, PgKeysetConfig config, List<TableId> captured) throws SQLException {
        String name = config.publicationName();
        Set<TableId> wanted = new TreeSet<>(captured);
        Published found = describe(connection, name);
        if (config.publicationAutocreate() == PublicationAutocreate.DISABLED) {
            check(name, found, wanted);
            return;
        }
        if (wanted.isEmpty()) {
            // A publication cannot be FOR TABLE nothing; there is nothing to stream either.
            return;
        }
        String tables = wanted.stream().map(TableId::quoted).collect(Collectors.joining(", "));
        try (Statement st = connection.createStatement()) {
            if (found == null) {
                st.execute("CREATE PUBLICATION " + Sql.quoteIdentifier(name) + " FOR TABLE " + tables
                        + " WITH (publish_via_partition_root = true)");
                log.info("Created publication '{}' for {}", name, tables);
            } else if (!found.tables.equals(wanted)) {
                st.execute("ALTER PUBLICATION " + Sql.quoteIdentifier(name) + " SET TABLE " + tables);
                log.info("Publication '{}' set to {} (was {})", name, tables, found.tables);
            }
        }
    }

    private record Published(Set<TableId> tables, boolean allKinds) {
    }

    private static Published describe(Connection connection, String name) throws SQLException {
        boolean allKinds;
        try (PreparedStatement st = connection.prepareStatement("SELECT pubinsert AND pubupdate AND pubdelete AND "
                + "pubtruncate FROM pg_catalog.pg_publication WHERE pubname = ?")) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                allKinds = rs.getBoolean(1);
            }
        }
        Set<TableId> tables = new TreeSet<>();
        try (PreparedStatement st = connection.prepareStatement(
                "SELECT schemaname, tablename FROM pg_catalog.pg_publication_tables WHERE pubname = ?")) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    tables.add(new TableId(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return new Published(tables, allKinds);
    }

    private static void check(String name, Published found, Set<TableId> wanted) {
        if (found == null) {
            throw new ConnectException("Publication '" + name + "' does not exist and publication.autocreate=disabled: "
                    + "create it (CREATE PUBLICATION " + Sql.quoteIdentifier(name) + " FOR TABLE ...) or set "
                    + "publication.autocreate=filtered");
        }
        Set<TableId> missing = new TreeSet<>(wanted);
        missing.removeAll(found.tables);
        if (!missing.isEmpty()) {
            throw new ConnectException("Publication '" + name + "' does not hold captured table(s) " + missing
                    + ": ALTER PUBLICATION " + Sql.quoteIdentifier(name) + " ADD TABLE ...");
        }
        if (!found.allKinds) {
            throw new ConnectException("Publication '" + name + "' does not publish every insert, update, delete and "
                    + "truncate: ALTER PUBLICATION " + Sql.quoteIdentifier(name)
                    + " SET (publish = 'insert, update, delete, truncate')");
        }
    }
}

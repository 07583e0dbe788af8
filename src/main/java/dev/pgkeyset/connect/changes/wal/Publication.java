package dev.pgkeyset.connect.changes.wal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.apache.kafka.connect.errors.ConnectException;

import dev.pgkeyset.connect.config.PublicationChecks;
import dev.pgkeyset.connect.config.WalSetupChecks;
import dev.pgkeyset.connect.pg.PublicationFacts;
import dev.pgkeyset.connect.pg.Sql;
import dev.pgkeyset.connect.pg.TableId;

/**
 * The publication a slot streams, by name. With {@code publication.autocreate=filtered} the
 * connector owns it: {@link #ensureFiltered} makes it publish exactly the captured tables, every
 * operation, partitions as their root. With {@code disabled} it belongs to the user, and
 * {@link #check} lists what keeps it from carrying every change of the captured tables.
 *
 * <p>Partitions: {@code publish_via_partition_root = true} sends a partitioned table's changes
 * under the root's name and oid, which is the table the connector captures; without it they would
 * arrive as the partitions' own, which the connector does not know.
 */
public final class Publication {

    /** Column lists and row filters exist from PostgreSQL 15 ({@code server_version_num}). */
    private static final int COLUMN_LISTS_VERSION = 150000;

    private final String name;

    public Publication(String name) {
        this.name = name;
    }

    public String name() {
        return name;
    }

    private Optional<PublicationFacts> facts(Connection connection) throws SQLException {
        return PublicationFacts.read(connection, name, serverVersion(connection));
    }

    /**
     * The tables named in the publication itself ({@code FOR TABLE}), not those of a schema or of
     * ALL TABLES; each true when it has a column list or a row filter (PostgreSQL 15+).
     */
    private Map<TableId, Boolean> listedTables(Connection connection) throws SQLException {
        String filtered = serverVersion(connection) >= COLUMN_LISTS_VERSION
                ? "r.prattrs IS NOT NULL OR r.prqual IS NOT NULL" : "false";
        Map<TableId, Boolean> tables = new TreeMap<>();
        try (PreparedStatement st = connection.prepareStatement("SELECT n.nspname, c.relname, " + filtered
                + " FROM pg_catalog.pg_publication p JOIN pg_catalog.pg_publication_rel r ON r.prpubid = p.oid"
                + " JOIN pg_catalog.pg_class c ON c.oid = r.prrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                + " WHERE p.pubname = ?")) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    tables.put(new TableId(rs.getString(1), rs.getString(2)), rs.getBoolean(3));
                }
            }
        }
        return tables;
    }

    /**
     * Those of {@code tables} an existing {@code FOR TABLE} publication does not name; none when the
     * publication does not exist or is FOR ALL TABLES (other checks speak for those).
     */
    public List<TableId> notPublished(Connection connection, Collection<TableId> tables) throws SQLException {
        if (tables.isEmpty()) {
            return List.of();
        }
        Optional<PublicationFacts> existing = facts(connection);
        if (existing.isEmpty() || existing.get().allTables()) {
            return List.of();
        }
        // Named in it, or published through one of its schemas.
        Set<TableId> published = new TreeSet<>(listedTables(connection).keySet());
        try (PreparedStatement st = connection.prepareStatement(
                "SELECT schemaname, tablename FROM pg_catalog.pg_publication_tables WHERE pubname = ?")) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    published.add(new TableId(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return tables.stream().filter(t -> !published.contains(t)).sorted().toList();
    }

    /**
     * {@code publication.autocreate=filtered}: creates the publication for {@code tables}, or
     * changes it to publish exactly them ({@code ALTER PUBLICATION ... SET TABLE}), every operation,
     * via the partition root. Commits when autocommit is off. Needs a connection that may write
     * (not a read-only one: CREATE/ALTER PUBLICATION is DDL), ownership of the tables (or
     * superuser), and of the publication when it exists.
     *
     * @return true when it created or changed something
     * @throws ConnectException when the publication is {@code FOR ALL TABLES} (the connector does not narrow a user's publication)
     */
    public boolean ensureFiltered(Connection connection, Collection<TableId> tables) throws SQLException {
        if (tables.isEmpty()) {
            throw new IllegalArgumentException("a publication for no table");
        }
        Set<TableId> wanted = new TreeSet<>(tables);
        String tableList = wanted.stream().map(TableId::quoted).collect(Collectors.joining(", "));
        try (Statement st = connection.createStatement()) {
            Optional<PublicationFacts> existing = facts(connection);
            boolean changed = false;
            if (existing.isEmpty()) {
                st.execute("CREATE PUBLICATION " + Sql.quoteIdentifier(name) + " FOR TABLE " + tableList
                        + " WITH (publish = 'insert, update, delete, truncate', publish_via_partition_root = true)");
                changed = true;
            } else {
                PublicationFacts publication = existing.get();
                if (publication.allTables()) {
                    throw new ConnectException("Publication '" + name + "' is FOR ALL TABLES, and "
                            + "publication.autocreate=filtered keeps a publication equal to the captured tables: set "
                            + "publication.autocreate=disabled to use it as it is, or set publication.name to a name of "
                            + "the connector's own");
                }
                Map<TableId, Boolean> listed = listedTables(connection);
                boolean filtered = listed.values().stream().anyMatch(Boolean::booleanValue);
                if (filtered || !listed.keySet().equals(wanted)) {
                    // SET TABLE also drops column lists and row filters: each table is published whole.
                    st.execute("ALTER PUBLICATION " + Sql.quoteIdentifier(name) + " SET TABLE " + tableList);
                    changed = true;
                }
                boolean everyOperation = publication.insert() && publication.update() && publication.delete()
                        && publication.truncate();
                if (!publication.viaRoot() || !everyOperation) {
                    st.execute("ALTER PUBLICATION " + Sql.quoteIdentifier(name)
                            + " SET (publish = 'insert, update, delete, truncate', publish_via_partition_root = true)");
                    changed = true;
                }
            }
            if (!connection.getAutoCommit()) {
                connection.commit();
            }
            return changed;
        } catch (SQLException | RuntimeException e) {
            if (!connection.getAutoCommit()) {
                connection.rollback();
            }
            throw e;
        }
    }

    /**
     * {@code publication.autocreate=disabled}: each reason the publication does not carry every
     * change of {@code tables}, as a message naming the publication (and the table) with the SQL
     * that fixes it; empty when it does. The decision is {@link PublicationChecks#userPublication},
     * the same validate() reports on publication.name.
     */
    public List<String> check(Connection connection, List<PublicationChecks.Captured> tables) throws SQLException {
        try {
            return PublicationChecks.userPublication(name, facts(connection), tables).stream()
                    .map(WalSetupChecks.Problem::message).toList();
        } finally {
            if (!connection.getAutoCommit()) {
                connection.commit();
            }
        }
    }

    private static int serverVersion(Connection connection) throws SQLException {
        return connection.getMetaData().getDatabaseMajorVersion() * 10_000;
    }

    @Override
    public String toString() {
        return name;
    }
}

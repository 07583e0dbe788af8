package dev.pgkeyset.connect.changes.wal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.apache.kafka.connect.errors.ConnectException;

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

    private static final List<String> OPERATIONS = List.of("insert", "update", "delete", "truncate");

    private final String name;

    public Publication(String name) {
        this.name = name;
    }

    public String name() {
        return name;
    }

    /** What {@code pg_publication} says of it. */
    record Definition(boolean allTables, boolean viaRoot, Set<String> missingOperations) {
    }

    Optional<Definition> definition(Connection connection) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement("SELECT puballtables, pubviaroot, pubinsert, pubupdate,"
                + " pubdelete, pubtruncate FROM pg_catalog.pg_publication WHERE pubname = ?")) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                Set<String> missing = new TreeSet<>();
                for (int i = 0; i < OPERATIONS.size(); i++) {
                    if (!rs.getBoolean(3 + i)) {
                        missing.add(OPERATIONS.get(i));
                    }
                }
                return Optional.of(new Definition(rs.getBoolean(1), rs.getBoolean(2), missing));
            }
        }
    }

    /** The tables named in the publication itself ({@code FOR TABLE}), not those of a schema or of ALL TABLES. */
    Set<TableId> listedTables(Connection connection) throws SQLException {
        Set<TableId> tables = new TreeSet<>();
        try (PreparedStatement st = connection.prepareStatement("SELECT n.nspname, c.relname"
                + " FROM pg_catalog.pg_publication p JOIN pg_catalog.pg_publication_rel r ON r.prpubid = p.oid"
                + " JOIN pg_catalog.pg_class c ON c.oid = r.prrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                + " WHERE p.pubname = ?")) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    tables.add(new TableId(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return tables;
    }

    /**
     * {@code publication.autocreate=filtered}: creates the publication for {@code tables}, or
     * changes it to publish exactly them ({@code ALTER PUBLICATION ... SET TABLE}), every operation,
     * via the partition root. Commits when autocommit is off. Needs ownership of the tables (or
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
            Optional<Definition> existing = definition(connection);
            boolean changed = false;
            if (existing.isEmpty()) {
                st.execute("CREATE PUBLICATION " + Sql.quoteIdentifier(name) + " FOR TABLE " + tableList
                        + " WITH (publish = 'insert, update, delete, truncate', publish_via_partition_root = true)");
                changed = true;
            } else {
                Definition definition = existing.get();
                if (definition.allTables()) {
                    throw new ConnectException("Publication '" + name + "' is FOR ALL TABLES, and "
                            + "publication.autocreate=filtered keeps a publication equal to the captured tables: set "
                            + "publication.autocreate=disabled to use it as it is, or set publication.name to a name of "
                            + "the connector's own");
                }
                boolean filtered = connection.getMetaData().getDatabaseMajorVersion() >= 15
                        && !filters(connection, wanted).isEmpty();
                if (filtered || !listedTables(connection).equals(wanted)) {
                    // SET TABLE also drops column lists and row filters: each table is published whole.
                    st.execute("ALTER PUBLICATION " + Sql.quoteIdentifier(name) + " SET TABLE " + tableList);
                    changed = true;
                }
                if (!definition.viaRoot() || !definition.missingOperations().isEmpty()) {
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
     * that fixes it; empty when it does. Checks that it exists, publishes insert, update, delete
     * and truncate, sends partitions via their root, and publishes each table with all its columns
     * and rows (PostgreSQL 15 column lists and row filters).
     */
    public List<String> check(Connection connection, Collection<TableId> tables) throws SQLException {
        List<String> problems = new ArrayList<>();
        String quoted = Sql.quoteIdentifier(name);
        Optional<Definition> found = definition(connection);
        if (found.isEmpty()) {
            problems.add("Publication '" + name + "' does not exist (publication.autocreate=disabled): create it, e.g. "
                    + "CREATE PUBLICATION " + quoted + " FOR TABLE " + tables.stream().sorted().map(TableId::quoted)
                            .collect(Collectors.joining(", "))
                    + " WITH (publish_via_partition_root = true); or set publication.autocreate=filtered");
            return problems;
        }
        Definition definition = found.get();
        if (!definition.missingOperations().isEmpty()) {
            problems.add("Publication '" + name + "' does not publish " + String.join(", ", definition.missingOperations())
                    + ", so those changes would never reach the topics: ALTER PUBLICATION " + quoted
                    + " SET (publish = 'insert, update, delete, truncate')");
        }
        boolean partitioned = false;
        Set<TableId> published = publishedTables(connection);
        for (TableId table : new TreeSet<>(tables)) {
            boolean isPartitioned = isPartitioned(connection, table);
            partitioned |= isPartitioned;
            // Without publish_via_partition_root the view lists the partitions instead: that
            // problem is reported once below, and this check is meaningful only after its fix.
            boolean listedAsPartitions = isPartitioned && !definition.viaRoot();
            if (!listedAsPartitions && !published.contains(table)) {
                problems.add("Publication '" + name + "' does not publish table " + table.canonical()
                        + ": ALTER PUBLICATION " + quoted + " ADD TABLE " + table.quoted());
            }
        }
        if (partitioned && !definition.viaRoot()) {
            problems.add("Publication '" + name + "' sends a partitioned table's changes as its partitions' (the "
                    + "connector captures the partitioned table): ALTER PUBLICATION " + quoted
                    + " SET (publish_via_partition_root = true)");
        }
        if (connection.getMetaData().getDatabaseMajorVersion() >= 15) {
            problems.addAll(filters(connection, tables));
        }
        if (!connection.getAutoCommit()) {
            connection.commit();
        }
        return problems;
    }

    /**
     * The tables whose changes the publication sends, as {@code pg_publication_tables} lists them
     * (FOR TABLE, FOR TABLES IN SCHEMA and FOR ALL TABLES alike; with {@code
     * publish_via_partition_root}, a partitioned table rather than its partitions).
     */
    private Set<TableId> publishedTables(Connection connection) throws SQLException {
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
        return tables;
    }

    private static boolean isPartitioned(Connection connection, TableId table) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement("SELECT c.relkind = 'p' FROM pg_catalog.pg_class c"
                + " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relname = ?")) {
            st.setString(1, table.schema());
            st.setString(2, table.table());
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    /** PostgreSQL 15+: a column list leaves columns out of every change, a row filter leaves changes out. */
    private List<String> filters(Connection connection, Collection<TableId> tables) throws SQLException {
        List<String> problems = new ArrayList<>();
        String quoted = Sql.quoteIdentifier(name);
        try (PreparedStatement st = connection.prepareStatement("SELECT n.nspname, c.relname, r.prattrs IS NOT NULL,"
                + " r.prqual IS NOT NULL FROM pg_catalog.pg_publication p"
                + " JOIN pg_catalog.pg_publication_rel r ON r.prpubid = p.oid"
                + " JOIN pg_catalog.pg_class c ON c.oid = r.prrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                + " WHERE p.pubname = ? AND (r.prattrs IS NOT NULL OR r.prqual IS NOT NULL)")) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    TableId table = new TableId(rs.getString(1), rs.getString(2));
                    if (!tables.contains(table)) {
                        continue;
                    }
                    if (rs.getBoolean(3)) {
                        problems.add("Publication '" + name + "' publishes only some columns of table "
                                + table.canonical() + " (a column list): records would lack the others. ALTER "
                                + "PUBLICATION " + quoted + " SET TABLE ... with " + table.quoted()
                                + " and no column list");
                    }
                    if (rs.getBoolean(4)) {
                        problems.add("Publication '" + name + "' has a row filter (WHERE) on table " + table.canonical()
                                + ": changes of other rows would be missing. ALTER PUBLICATION " + quoted
                                + " SET TABLE ... with " + table.quoted() + " and no WHERE");
                    }
                }
            }
        }
        return problems;
    }

    @Override
    public String toString() {
        return name;
    }
}

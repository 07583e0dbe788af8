package dev.pgkeyset.connect.pg;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * A publication as validate() needs to see it: what it publishes and of which tables, read from
 * {@code pg_publication} and {@code pg_publication_tables} (which resolves FOR ALL TABLES and
 * FOR TABLES IN SCHEMA into tables). Also which captured tables the role does not own, since only
 * an owner (or a superuser) may add a table to a publication.
 *
 * @param ownedByRole the role may ALTER it (owns it through membership, or is superuser)
 * @param tables      published tables: with publish_via_partition_root the partitioned tables
 *                    themselves, else their leaf partitions
 */
public record PublicationFacts(String name, boolean ownedByRole, boolean allTables, boolean insert, boolean update,
                               boolean delete, boolean truncate, boolean viaRoot, Map<TableId, Published> tables) {

    /**
     * One table's entry.
     *
     * @param columns   the published columns (PostgreSQL 15+ lists them all when there is no column
     *                  list); null on older servers, which have no column lists
     * @param rowFilter the WHERE of a row filter (PostgreSQL 15+), null when every row is published
     */
    public record Published(List<String> columns, String rowFilter) {
    }

    private static final int COLUMN_LISTS_VERSION = 150000;

    public static Optional<PublicationFacts> read(Connection connection, String name, int serverVersion)
            throws SQLException {
        PublicationFacts header;
        try (PreparedStatement st = connection.prepareStatement("""
                SELECT pg_has_role(p.pubowner, 'USAGE'), p.puballtables, p.pubinsert, p.pubupdate, p.pubdelete,
                       p.pubtruncate, p.pubviaroot
                  FROM pg_publication p WHERE p.pubname = ?
                """)) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                header = new PublicationFacts(name, rs.getBoolean(1), rs.getBoolean(2), rs.getBoolean(3),
                        rs.getBoolean(4), rs.getBoolean(5), rs.getBoolean(6), rs.getBoolean(7), Map.of());
            }
        }
        boolean columnLists = serverVersion >= COLUMN_LISTS_VERSION;
        Map<TableId, Published> tables = new HashMap<>();
        // Generated columns count as published: pgoutput sends none before PostgreSQL 18 whatever the
        // column list (the connector fetches them by key), and PostgreSQL 17 leaves them out of
        // attnames for a table published whole, where 15 lists them.
        try (PreparedStatement st = connection.prepareStatement("SELECT schemaname, tablename"
                + (columnLists ? ", attnames, rowfilter, ARRAY(SELECT a.attname FROM pg_catalog.pg_attribute a"
                        + " WHERE a.attrelid = pg_catalog.format('%I.%I', schemaname, tablename)::regclass"
                        + " AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> '')" : "")
                + " FROM pg_publication_tables WHERE pubname = ?")) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    tables.put(new TableId(rs.getString(1), rs.getString(2)), columnLists
                            ? new Published(withGenerated(strings(rs.getArray(3)), strings(rs.getArray(5))),
                                    rs.getString(4))
                            : new Published(null, null));
                }
            }
        }
        return Optional.of(new PublicationFacts(name, header.ownedByRole, header.allTables, header.insert,
                header.update, header.delete, header.truncate, header.viaRoot, Map.copyOf(tables)));
    }

    /** The tables of {@code tables} the current role does not own (superusers own everything). */
    public static Set<TableId> notOwned(Connection connection, List<TableId> tables) throws SQLException {
        Set<TableId> notOwned = new TreeSet<>();
        if (tables.isEmpty()) {
            return notOwned;
        }
        try (PreparedStatement st = connection.prepareStatement("""
                SELECT q.nsp, q.rel
                  FROM unnest(CAST(? AS text[]), CAST(? AS text[])) AS q(nsp, rel)
                  JOIN pg_namespace n ON n.nspname = q.nsp
                  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = q.rel
                 WHERE NOT pg_has_role(c.relowner, 'USAGE')
                """)) {
            st.setArray(1, connection.createArrayOf("text", tables.stream().map(TableId::schema).toArray()));
            st.setArray(2, connection.createArrayOf("text", tables.stream().map(TableId::table).toArray()));
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    notOwned.add(new TableId(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return notOwned;
    }

    private static List<String> withGenerated(List<String> published, List<String> generated) {
        if (published == null || generated == null || generated.isEmpty()) {
            return published;
        }
        List<String> all = new java.util.ArrayList<>(published);
        generated.stream().filter(g -> !all.contains(g)).forEach(all::add);
        return all;
    }

    private static List<String> strings(Array array) throws SQLException {
        return array == null ? null : Arrays.stream((Object[]) array.getArray()).map(Object::toString).toList();
    }
}

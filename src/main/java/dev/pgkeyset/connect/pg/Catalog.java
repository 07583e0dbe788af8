package dev.pgkeyset.connect.pg;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Reads tables, columns and primary keys from {@code pg_catalog} directly: the JDBC
 * {@code DatabaseMetaData} calls issue one query per table and crawl on catalogs with many
 * thousands of relations. Here it is three queries, whatever the number of tables.
 */
public final class Catalog {

    /**
     * System schemas (pg_catalog, pg_toast, pg_temp_N, ...) are left out by a regular expression:
     * no backslash in the literal, whose meaning {@code standard_conforming_strings=off} would
     * change ({@code 'pg\_%'} then reads as the pattern {@code pg_%}, which also matches a user
     * schema named pgapp).
     */
    private static final String RELATIONS = """
            SELECT c.oid, n.nspname, c.relname, c.relkind,
                   CASE WHEN c.relkind = 'p' THEN
                        (SELECT coalesce(sum(greatest(p.reltuples, 0)), 0)
                           FROM pg_partition_tree(c.oid) t JOIN pg_class p ON p.oid = t.relid
                          WHERE t.isleaf)
                        ELSE greatest(c.reltuples, 0) END AS estimated_rows
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
               AND NOT c.relispartition
               AND n.nspname <> 'information_schema'
               AND n.nspname !~ '^pg_'
            """;

    /** Declared types; {@link PgTypeResolver} resolves domains and array elements. */
    private static final String COLUMNS = """
            SELECT a.attrelid, a.attname, a.atttypid, format_type(a.atttypid, a.atttypmod), a.atttypmod,
                   a.attndims, a.attnotnull
              FROM pg_attribute a
             WHERE %s AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attrelid, a.attnum
            """;

    /**
     * The key columns of each primary key: the first {@code indnkeyatts} of {@code indkey}. The
     * rest are {@code INCLUDE} columns, stored in the index but no part of the key (nullable,
     * mutable, possibly of a type without an order such as json).
     */
    private static final String PRIMARY_KEYS = """
            SELECT i.indrelid, a.attname
              FROM pg_index i
             CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE i.indisprimary AND i.indrelid = ANY (?) AND k.position <= i.indnkeyatts
             ORDER BY i.indrelid, k.position
            """;

    /** First column of every valid btree index: a tracking column should lead one. */
    private static final String INDEX_LEADING_COLUMNS = """
            SELECT i.indrelid, a.attname
              FROM pg_index i
              JOIN pg_class ic ON ic.oid = i.indexrelid
              JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
             WHERE i.indisvalid AND i.indrelid = ANY (?)
            """;

    private Catalog() {
    }

    /** Every readable relation whose name passes {@code wanted}, with columns and primary key, sorted by name. */
    public static List<TableInfo> tables(Connection connection, Predicate<TableId> wanted) throws SQLException {
        Map<Long, TableId> ids = new HashMap<>();
        Map<Long, TableKind> kinds = new HashMap<>();
        Map<Long, Long> estimates = new HashMap<>();
        try (PreparedStatement st = connection.prepareStatement(RELATIONS); ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                TableId id = new TableId(rs.getString(2), rs.getString(3));
                if (wanted.test(id)) {
                    long oid = rs.getLong(1);
                    ids.put(oid, id);
                    kinds.put(oid, TableKind.ofRelkind(rs.getString(4)));
                    estimates.put(oid, (long) rs.getDouble(5));
                }
            }
        }
        if (ids.isEmpty()) {
            return List.of();
        }
        Long[] oids = ids.keySet().toArray(Long[]::new);
        Map<Long, List<ColumnInfo>> columns = columns(connection, oids);
        Map<Long, List<String>> keys = columnNames(connection, PRIMARY_KEYS, oids);
        Map<Long, List<String>> indexed = columnNames(connection, INDEX_LEADING_COLUMNS, oids);
        List<TableInfo> tables = new ArrayList<>(ids.size());
        ids.forEach((oid, id) -> tables.add(new TableInfo(id, kinds.get(oid),
                List.copyOf(columns.getOrDefault(oid, List.of())), List.copyOf(keys.getOrDefault(oid, List.of())),
                Set.copyOf(indexed.getOrDefault(oid, List.of())), estimates.get(oid), oid)));
        tables.sort((a, b) -> a.id().compareTo(b.id()));
        return tables;
    }

    private static Map<Long, List<ColumnInfo>> columns(Connection connection, Long[] oids) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement(COLUMNS.formatted("a.attrelid = ANY (?)"))) {
            st.setArray(1, oidArray(connection, oids));
            return readColumns(connection, st, new PgTypeResolver());
        }
    }

    /**
     * The current columns of one table, to notice a schema change between two cursors. A table
     * dropped or renamed meanwhile fails with SQLState 42P01.
     */
    public static List<ColumnInfo> columnsOf(Connection connection, TableId table, PgTypeResolver types)
            throws SQLException {
        try (PreparedStatement st = connection.prepareStatement(COLUMNS.formatted("a.attrelid = CAST(? AS regclass)"))) {
            st.setString(1, table.quoted());
            return readColumns(connection, st, types).values().stream().findFirst().orElse(List.of());
        }
    }

    /** The OID of the relation named {@code table} now; 0 when none is. */
    public static long oidOf(Connection connection, TableId table) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement(
                "SELECT CAST(pg_catalog.to_regclass(?) AS pg_catalog.oid)")) {
            st.setString(1, table.quoted());
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? rs.getLong(1) : 0;
            }
        }
    }

    /**
     * The current columns of the relation with OID {@code oid}, whatever it is named now (the WAL
     * names relations by OID, and a rename keeps it); empty when it is gone.
     */
    public static List<ColumnInfo> columnsOfRelation(Connection connection, long oid, PgTypeResolver types)
            throws SQLException {
        try (PreparedStatement st = connection.prepareStatement(COLUMNS.formatted("a.attrelid = CAST(? AS oid)"))) {
            st.setLong(1, oid);
            return readColumns(connection, st, types).values().stream().findFirst().orElse(List.of());
        }
    }

    private record DeclaredColumn(long table, String name, int typeOid, String typeName, int typmod, int dimensions,
                                  boolean notNull) {
    }

    private static Map<Long, List<ColumnInfo>> readColumns(Connection connection, PreparedStatement st,
                                                           PgTypeResolver types) throws SQLException {
        List<DeclaredColumn> declared = new ArrayList<>();
        try (ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                declared.add(new DeclaredColumn(rs.getLong(1), rs.getString(2), rs.getInt(3), rs.getString(4),
                        rs.getInt(5), rs.getInt(6), rs.getBoolean(7)));
            }
        }
        types.load(connection,
                declared.stream().map(DeclaredColumn::typeOid).collect(java.util.stream.Collectors.toSet()));
        Map<Long, List<ColumnInfo>> byTable = new java.util.LinkedHashMap<>();
        for (DeclaredColumn c : declared) {
            byTable.computeIfAbsent(c.table(), k -> new ArrayList<>()).add(new ColumnInfo(c.name(),
                    types.resolve(c.typeOid(), c.typmod()), c.typeName(), c.dimensions(),
                    c.notNull() || types.domainNotNull(c.typeOid())));
        }
        return byTable;
    }

    /** Runs a query of (table oid, column name) rows, keeping the order per table. */
    private static Map<Long, List<String>> columnNames(Connection connection, String sql, Long[] oids)
            throws SQLException {
        Map<Long, List<String>> byTable = new HashMap<>();
        try (PreparedStatement st = connection.prepareStatement(sql)) {
            st.setArray(1, oidArray(connection, oids));
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    byTable.computeIfAbsent(rs.getLong(1), k -> new ArrayList<>()).add(rs.getString(2));
                }
            }
        }
        return byTable;
    }

    private static Array oidArray(Connection connection, Long[] oids) throws SQLException {
        return connection.createArrayOf("oid", oids);
    }
}

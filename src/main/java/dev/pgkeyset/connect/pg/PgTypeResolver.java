package dev.pgkeyset.connect.pg;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Resolves column types to what decides their mapping: a domain to its base type (through any
 * number of domains), an array to its element type. Reads {@code pg_type} for just the types in
 * use, one query per level of nesting (usually one or two), and remembers them: a reader that
 * looks at its table's columns before every cursor asks again only for types it has not seen.
 * What it keeps cannot change under it (a domain's base type and modifier, an array's element
 * type are fixed), except a domain's NOT NULL and an enum's labels (ALTER TYPE … ADD VALUE), which
 * then show at the next start.
 */
public final class PgTypeResolver {

    private static final String TYPES = """
            SELECT oid, typtype, typbasetype, typtypmod, typnotnull, typelem, typcategory, typname::text,
                   CASE WHEN typtype = 'e' THEN ARRAY(SELECT enumlabel::text FROM pg_enum
                                                       WHERE enumtypid = pg_type.oid ORDER BY enumsortorder) END
              FROM pg_type WHERE oid = ANY (?)
            """;

    private record Row(char typtype, int baseType, int typtypmod, boolean notNull, int element, boolean array,
                       String name, java.util.List<String> labels) {
    }

    private final Map<Integer, Row> rows = new HashMap<>();

    public PgTypeResolver() {
    }

    /** Loads the types not known yet, and every type they are built on. */
    void load(Connection connection, Collection<Integer> typeOids) throws SQLException {
        Set<Integer> wanted = new HashSet<>(typeOids);
        wanted.removeAll(rows.keySet());
        if (wanted.isEmpty()) {
            return;
        }
        try (PreparedStatement st = connection.prepareStatement(TYPES)) {
            while (!wanted.isEmpty()) {
                st.setArray(1, connection.createArrayOf("oid", wanted.toArray()));
                Set<Integer> next = new HashSet<>();
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        java.sql.Array labels = rs.getArray(9);
                        Row row = new Row(rs.getString(2).charAt(0), rs.getInt(3), rs.getInt(4), rs.getBoolean(5),
                                rs.getInt(6), "A".equals(rs.getString(7)), rs.getString(8),
                                labels == null ? java.util.List.of()
                                        : java.util.List.of((String[]) labels.getArray()));
                        rows.put(rs.getInt(1), row);
                        if (row.typtype == 'd') {
                            next.add(row.baseType);
                        } else if (row.array && row.element != 0) {
                            next.add(row.element);
                        }
                    }
                }
                next.removeAll(rows.keySet());
                wanted = next;
            }
        }
    }

    /** The resolved type of a column declared with {@code typeOid} and {@code typmod}. */
    PgType resolve(int typeOid, int typmod) {
        Row row = rows.get(typeOid);
        if (row == null) {
            // Not in pg_type (cannot happen for a live column): map it as an unknown base type.
            return PgType.base(typeOid, typmod);
        }
        if (row.typtype == 'd') {
            return resolve(row.baseType, typmod != -1 ? typmod : row.typtypmod);
        }
        PgType element = row.array && row.element != 0 ? resolve(row.element, typmod) : null;
        return new PgType(typeOid, row.typtype, typmod, element, row.name, row.labels);
    }

    /** Whether a domain anywhere in the chain of {@code typeOid} is declared NOT NULL. */
    boolean domainNotNull(int typeOid) {
        Row row = rows.get(typeOid);
        return row != null && row.typtype == 'd' && (row.notNull || domainNotNull(row.baseType));
    }

    /**
     * The resolved type of a column declared with {@code typeOid} and {@code typmod}, loading the
     * type first when it is not known yet (for column lists that come from elsewhere than the
     * catalog, such as the WAL's Relation messages).
     */
    public PgType resolve(Connection connection, int typeOid, int typmod) throws SQLException {
        load(connection, java.util.List.of(typeOid));
        return resolve(typeOid, typmod);
    }
}

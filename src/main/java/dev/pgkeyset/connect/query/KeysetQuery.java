package dev.pgkeyset.connect.query;

import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.PgType;
import dev.pgkeyset.connect.pg.Sql;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.schema.PgTypes;

/**
 * A keyset (seek) query: its SQL text and its bind values, built together so they cannot drift.
 *
 * <p>Worked example: key {@code (region text, id int4)}, last row delivered {@code ('eu', 1001)}:
 * <pre>
 * SELECT "region", "id", "amount" FROM ONLY "public"."orders"
 *  WHERE ("region", "id") &gt; (CAST(? AS text), CAST(? AS integer))
 *  ORDER BY "public"."orders"."region", "public"."orders"."id"
 * binds: "eu", "1001"
 * </pre>
 * The row comparison is lexicographic: it returns {@code ('eu', 1002)}, {@code ('fr', 1)}, … but not
 * {@code ('eu', 1001)} nor {@code ('de', 5000)}; with a btree index on {@code (region, id)}
 * PostgreSQL starts the index scan right at the position, so page N costs what page 1 costs,
 * unlike {@code OFFSET}. Text keys compare under the column's collation in both the predicate and
 * the {@code ORDER BY}, so the order and the seek agree. Each bound value is the exact text form of
 * the key value cast to the column's declared type (modifier included: a bare {@code character}
 * would mean {@code character(1)}). A row comparison never returns a row whose key is NULL, so
 * key columns that may be NULL are looked at with {@link #nullKeys}.
 */
public record KeysetQuery(String sql, List<Object> binds) {

    public KeysetQuery {
        binds = List.copyOf(binds);
    }

    /**
     * @param select what to select: the quoted columns, some with a cast ({@code "tags"::text})
     * @param after  the key of the last row delivered, or an empty list to start at the beginning
     */
    public static KeysetQuery snapshot(TableId table, boolean only, List<String> select,
                                       List<ColumnInfo> key, List<Object> after) {
        return snapshot(table, only, select, key, after, List.of(), List.of());
    }

    /**
     * The snapshot of one key range: {@code (key) >= (lower)} (only before its first row; after it,
     * the position is beyond the bound) and {@code (key) < (upper)}.
     *
     * @param lower the range's inclusive lower bound, empty for none
     * @param upper the range's exclusive upper bound, empty for none
     */
    public static KeysetQuery snapshot(TableId table, boolean only, List<String> select, List<ColumnInfo> key,
                                       List<Object> after, List<Object> lower, List<Object> upper) {
        return snapshot(table, only, select, key, after, lower, upper, null);
    }

    /**
     * A predicate added to a keyset query's own, such as the rows of one leaf partition of a
     * partitioned table read through the table: {@code sql} takes its {@code binds} as text, as
     * every bind of the query does (so it casts them).
     */
    public record Restriction(String sql, List<Object> binds) {
        public Restriction {
            binds = List.copyOf(binds);
        }
    }

    /** The same, restricted to the rows {@code restriction} (null: none) admits. */
    public static KeysetQuery snapshot(TableId table, boolean only, List<String> select, List<ColumnInfo> key,
                                       List<Object> after, List<Object> lower, List<Object> upper,
                                       Restriction restriction) {
        return build(table, only, select, key, after, null, null, false, key, after.isEmpty() ? lower : List.of(),
                upper, restriction);
    }

    /**
     * The change query: rows in {@code (tracking, key…)} order after a position and strictly below
     * the horizon. Worked example, tracking column {@code updated_at}, key {@code id}, last row
     * delivered {@code ('2024-05-01 10:00:00.5+00', 42)}, horizon {@code '2024-05-01 10:00:07+00'}:
     * <pre>
     * … WHERE ("updated_at", "id") &gt; (CAST(? AS timestamp with time zone), CAST(? AS integer))
     *     AND "updated_at" &lt; CAST(? AS timestamp with time zone)
     *   ORDER BY "public"."orders"."updated_at", "public"."orders"."id"
     * </pre>
     * Rows sharing one tracking value are told apart by the key, so a batch boundary in the middle
     * of a tie loses nothing and repeats nothing.
     *
     * @param after   (tracking value, key values…) of the last row delivered; empty for none
     * @param from    with no {@code after}: the first tracking value to read (inclusive), or null
     *                for the smallest
     * @param horizon tracking values above it (and, unless {@code horizonInclusive}, at it) are
     *                left for a later query
     */
    public static KeysetQuery changes(TableId table, boolean only, List<String> select, ColumnInfo tracking,
                                      List<ColumnInfo> key, List<Object> after, Object from, Object horizon,
                                      boolean horizonInclusive) {
        return changes(table, only, select, tracking, key, after, from, horizon, horizonInclusive, List.of(),
                List.of());
    }

    /** The change query of one key range: the same, restricted to {@code lower <= (key) < upper}. */
    public static KeysetQuery changes(TableId table, boolean only, List<String> select, ColumnInfo tracking,
                                      List<ColumnInfo> key, List<Object> after, Object from, Object horizon,
                                      boolean horizonInclusive, List<Object> lower, List<Object> upper) {
        List<ColumnInfo> order = new ArrayList<>(key.size() + 1);
        order.add(tracking);
        order.addAll(key);
        return build(table, only, select, order, after, after.isEmpty() ? from : null, horizon, horizonInclusive,
                key, lower, upper, null);
    }

    private static KeysetQuery build(TableId table, boolean only, List<String> select, List<ColumnInfo> order,
                                     List<Object> after, Object from, Object below, boolean belowInclusive,
                                     List<ColumnInfo> key, List<Object> lower, List<Object> upper,
                                     Restriction restriction) {
        if (!after.isEmpty() && after.size() != order.size()) {
            throw new IllegalArgumentException("position has " + after.size() + " values for an order of "
                    + order.size());
        }
        StringBuilder sql = new StringBuilder("SELECT ")
                .append(String.join(", ", select))
                .append(" FROM ").append(only ? "ONLY " : "").append(table.quoted());
        List<String> predicates = new ArrayList<>(3);
        List<Object> binds = new ArrayList<>(after.size() + 2);
        if (!after.isEmpty()) {
            predicates.add("(" + Sql.quotedList(order.stream().map(ColumnInfo::name).toList()) + ") > ("
                    + order.stream().map(KeysetQuery::castedParameter).collect(Collectors.joining(", ")) + ")");
            binds.addAll(after);
        }
        ColumnInfo first = order.get(0);
        if (from != null) {
            predicates.add(Sql.quoteIdentifier(first.name()) + " >= " + castedParameter(first));
            binds.add(from);
        }
        if (below != null) {
            predicates.add(Sql.quoteIdentifier(first.name()) + (belowInclusive ? " <= " : " < ")
                    + castedParameter(first));
            binds.add(below);
        }
        if (!lower.isEmpty()) {
            predicates.add(rowOf(key) + " >= " + parametersOf(key));
            binds.addAll(lower);
        }
        if (!upper.isEmpty()) {
            predicates.add(rowOf(key) + " < " + parametersOf(key));
            binds.addAll(upper);
        }
        if (restriction != null) {
            predicates.add("(" + restriction.sql() + ")");
            binds.addAll(restriction.binds());
        }
        if (!predicates.isEmpty()) {
            sql.append(" WHERE ").append(String.join(" AND ", predicates));
        }
        sql.append(" ORDER BY ").append(orderBy(table, order));
        return new KeysetQuery(sql.toString(), binds);
    }

    /**
     * The ORDER BY of a keyset: the table's own columns, qualified. A bare name would mean the
     * output column of that name first, and where the select list reads a column through a cast
     * ({@code "n"::text} for numeric, citext, enums, …) PostgreSQL would sort by the text
     * ({@code 1, 10, 11, …, 2}) while {@code (key) > (position)} compares the typed values: each
     * reopened cursor would then skip rows, and sort the whole table instead of walking the index.
     */
    public static String orderBy(TableId table, List<ColumnInfo> order) {
        return order.stream().map(c -> table.quoted() + "." + Sql.quoteIdentifier(c.name()))
                .collect(Collectors.joining(", "));
    }

    /**
     * Looks for a row whose key holds a NULL in one of {@code nullable} (the key columns not
     * declared NOT NULL), which no keyset predicate returns: {@code (k) > (position)} and the
     * range bounds are NULL, not true, for it. Worked example, key {@code (code)} from key.columns:
     * <pre>
     * SELECT "code" IS NULL FROM ONLY "public"."orders" WHERE ("code" IS NULL) LIMIT 1
     * </pre>
     * The first row returned names the NULL column; none means there is no such row.
     */
    public static KeysetQuery nullKeys(TableId table, boolean only, List<ColumnInfo> nullable) {
        return nullKeys(table, only, nullable, null, null, null, false);
    }

    /**
     * The same within the change query's window of tracking values, {@code from} (inclusive, null
     * for none) to {@code below}: the rows that query reads, so the look costs what it costs.
     */
    public static KeysetQuery nullKeys(TableId table, boolean only, List<ColumnInfo> nullable, ColumnInfo tracking,
                                       Object from, Object below, boolean belowInclusive) {
        if (nullable.isEmpty()) {
            throw new IllegalArgumentException("no nullable key column to look at");
        }
        List<String> isNull = nullable.stream().map(c -> Sql.quoteIdentifier(c.name()) + " IS NULL").toList();
        StringBuilder sql = new StringBuilder("SELECT ").append(String.join(", ", isNull))
                .append(" FROM ").append(only ? "ONLY " : "").append(table.quoted())
                .append(" WHERE (").append(String.join(" OR ", isNull)).append(')');
        List<Object> binds = new ArrayList<>(2);
        if (from != null) {
            sql.append(" AND ").append(Sql.quoteIdentifier(tracking.name())).append(" >= ")
                    .append(castedParameter(tracking));
            binds.add(from);
        }
        if (below != null) {
            sql.append(" AND ").append(Sql.quoteIdentifier(tracking.name())).append(belowInclusive ? " <= " : " < ")
                    .append(castedParameter(tracking));
            binds.add(below);
        }
        return new KeysetQuery(sql.append(" LIMIT 1").toString(), binds);
    }

    private static String rowOf(List<ColumnInfo> columns) {
        return "(" + Sql.quotedList(columns.stream().map(ColumnInfo::name).toList()) + ")";
    }

    private static String parametersOf(List<ColumnInfo> columns) {
        return "(" + columns.stream().map(KeysetQuery::castedParameter).collect(Collectors.joining(", ")) + ")";
    }

    private static String castedParameter(ColumnInfo column) {
        PgType type = column.type();
        if (type.oid() == PgTypes.MONEY || (type.isArray() && type.element().oid() == PgTypes.MONEY)) {
            // A money key's position is numeric text (money is read as numeric). money's own input
            // parses text under lc_monetary, where de_DE takes '.' for a thousands separator
            // ('1234.57' is 123.457,00 €); the numeric cast scales by the same locale's fraction
            // digits as the read did, so the value comes back exactly.
            return "CAST(CAST(? AS pg_catalog.numeric" + (type.isArray() ? "[]" : "") + ") AS "
                    + column.typeName() + ")";
        }
        return "CAST(? AS " + column.typeName() + ")";
    }

    /** Binds every value as text; the SQL's casts turn each into the column's type. */
    public void bind(PreparedStatement statement) throws SQLException {
        for (int i = 0; i < binds.size(); i++) {
            statement.setString(i + 1, String.valueOf(binds.get(i)));
        }
    }

    /**
     * The rows with the given keys, e.g. for key {@code (region, id)} and two keys:
     * <pre>
     * SELECT "region", "id", "doc" FROM "public"."orders"
     *  WHERE ("region", "id") IN ((CAST(? AS text), CAST(? AS integer)), (CAST(? AS text), CAST(? AS integer)))
     * </pre>
     * binds: "eu", "1", "us", "7". Rows that no longer exist are simply not returned.
     */
    public static KeysetQuery byKeys(TableId table, boolean only, List<String> selectList, List<ColumnInfo> key,
                                     List<List<Object>> keys) {
        if (keys.isEmpty()) {
            throw new IllegalArgumentException("no key to look up");
        }
        String parameters = parametersOf(key);
        StringBuilder sql = new StringBuilder("SELECT ").append(String.join(", ", selectList))
                .append(" FROM ").append(only ? "ONLY " : "").append(table.quoted())
                .append(" WHERE ").append(rowOf(key)).append(" IN (");
        List<Object> binds = new ArrayList<>(keys.size() * key.size());
        for (int i = 0; i < keys.size(); i++) {
            sql.append(i == 0 ? "" : ", ").append(parameters);
            binds.addAll(keys.get(i));
        }
        return new KeysetQuery(sql.append(')').toString(), binds);
    }
}

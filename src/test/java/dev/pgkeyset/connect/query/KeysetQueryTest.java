package dev.pgkeyset.connect.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.TableId;

class KeysetQueryTest {

    private static final ColumnInfo REGION = new ColumnInfo("region", 25, "text", -1, true);
    private static final ColumnInfo ID = new ColumnInfo("id", 23, "integer", -1, true);
    private static final ColumnInfo AMOUNT = new ColumnInfo("amount", 1700, "numeric(12,2)", 786438, false);
    private static final TableId ORDERS = new TableId("public", "orders");

    private static List<String> select(ColumnInfo... columns) {
        return java.util.Arrays.stream(columns).map(c -> dev.pgkeyset.connect.pg.Sql.quoteIdentifier(c.name())).toList();
    }

    @Test
    void firstQueryOfATableHasNoPredicate() {
        KeysetQuery query = KeysetQuery.snapshot(ORDERS, true, select(REGION, ID, AMOUNT), List.of(REGION, ID), List.of());
        assertEquals("SELECT \"region\", \"id\", \"amount\" FROM ONLY \"public\".\"orders\""
                + " ORDER BY \"public\".\"orders\".\"region\", \"public\".\"orders\".\"id\"", query.sql());
        assertEquals(List.of(), query.binds());
    }

    @Test
    void compositeKeyResumesWithARowComparisonAndOrderedBinds() {
        // Last row delivered: ('eu', 1001). Next come ('eu', 1002), ('fr', 1), …; never ('de', 5000).
        KeysetQuery query = KeysetQuery.snapshot(ORDERS, true, select(REGION, ID, AMOUNT), List.of(REGION, ID),
                List.of("eu", 1001L));
        assertEquals("SELECT \"region\", \"id\", \"amount\" FROM ONLY \"public\".\"orders\""
                + " WHERE (\"region\", \"id\") > (CAST(? AS text), CAST(? AS integer))"
                + " ORDER BY \"public\".\"orders\".\"region\", \"public\".\"orders\".\"id\"", query.sql());
        assertEquals(List.of("eu", 1001L), query.binds());
    }

    @Test
    void singleKeyCastsToTheDeclaredTypeWithItsModifier() {
        ColumnInfo code = new ColumnInfo("code", 1042, "character(10)", 14, true);
        KeysetQuery query = KeysetQuery.snapshot(ORDERS, false, select(code), List.of(code), List.of("A"));
        assertEquals("SELECT \"code\" FROM \"public\".\"orders\" WHERE (\"code\") > (CAST(? AS character(10)))"
                + " ORDER BY \"public\".\"orders\".\"code\"", query.sql());
    }

    @Test
    void identifiersAreQuotedWhateverTheyContain() {
        ColumnInfo hostile = new ColumnInfo("id\"; DROP TABLE x; --", 23, "integer", -1, true);
        KeysetQuery query = KeysetQuery.snapshot(new TableId("My Schema", "Ta\"ble"), true, select(hostile),
                List.of(hostile), List.of(5L));
        assertEquals("SELECT \"id\"\"; DROP TABLE x; --\" FROM ONLY \"My Schema\".\"Ta\"\"ble\""
                + " WHERE (\"id\"\"; DROP TABLE x; --\") > (CAST(? AS integer))"
                + " ORDER BY \"My Schema\".\"Ta\"\"ble\".\"id\"\"; DROP TABLE x; --\"",
                query.sql());
    }

    @Test
    void aPositionMustMatchTheKey() {
        assertThrows(IllegalArgumentException.class,
                () -> KeysetQuery.snapshot(ORDERS, true, select(REGION, ID), List.of(REGION, ID), List.of("eu")));
    }

    @Test
    void changeQueriesReadFromAPositionUpToTheHorizon() {
        ColumnInfo updated = new ColumnInfo("updated_at", 1184, "timestamp with time zone", -1, true);
        KeysetQuery resumed = KeysetQuery.changes(ORDERS, true, select(ID, updated), updated, List.of(ID),
                List.of("2024-05-01T10:00:00.5Z", 42L), "ignored once a row was read", "2024-05-01 10:00:07+00", false);
        assertEquals("SELECT \"id\", \"updated_at\" FROM ONLY \"public\".\"orders\""
                + " WHERE (\"updated_at\", \"id\") > (CAST(? AS timestamp with time zone), CAST(? AS integer))"
                + " AND \"updated_at\" < CAST(? AS timestamp with time zone)"
                + " ORDER BY \"public\".\"orders\".\"updated_at\", \"public\".\"orders\".\"id\"",
                resumed.sql());
        assertEquals(List.of("2024-05-01T10:00:00.5Z", 42L, "2024-05-01 10:00:07+00"), resumed.binds());

        ColumnInfo version = new ColumnInfo("version", 20, "bigint", -1, true);
        KeysetQuery first = KeysetQuery.changes(ORDERS, false, select(ID, version), version, List.of(ID), List.of(),
                "100", "250", true);
        assertEquals("SELECT \"id\", \"version\" FROM \"public\".\"orders\""
                + " WHERE \"version\" >= CAST(? AS bigint) AND \"version\" <= CAST(? AS bigint)"
                + " ORDER BY \"public\".\"orders\".\"version\", \"public\".\"orders\".\"id\"", first.sql());
        assertEquals(List.of("100", "250"), first.binds());
    }

    @Test
    void aKeyRangeIsBoundedBelowUntilItsFirstRowAndAlwaysAbove() {
        KeysetQuery first = KeysetQuery.snapshot(ORDERS, true, select(REGION, ID), List.of(REGION, ID), List.of(),
                List.of("eu", 5L), List.of("us", 1L));
        assertEquals("SELECT \"region\", \"id\" FROM ONLY \"public\".\"orders\" WHERE (\"region\", \"id\") >="
                + " (CAST(? AS text), CAST(? AS integer)) AND (\"region\", \"id\") < (CAST(? AS text), CAST(? AS integer))"
                + " ORDER BY \"public\".\"orders\".\"region\", \"public\".\"orders\".\"id\"", first.sql());
        assertEquals(List.of("eu", 5L, "us", 1L), first.binds());
        KeysetQuery resumed = KeysetQuery.snapshot(ORDERS, true, select(REGION, ID), List.of(REGION, ID),
                List.of("eu", 9L), List.of("eu", 5L), List.of("us", 1L));
        assertEquals(List.of("eu", 9L, "us", 1L), resumed.binds(), "the position is past the lower bound");
    }

    @Test
    void aRestrictionIsOneMorePredicateWithItsBindsLast() {
        KeysetQuery.Restriction leaf = new KeysetQuery.Restriction(
                "tableoid = CAST(? AS pg_catalog.oid) AND ((region IS NOT NULL) AND (region = 'eu'))", List.of("16401"));
        KeysetQuery first = KeysetQuery.snapshot(ORDERS, false, select(REGION, ID), List.of(REGION, ID), List.of(),
                List.of(), List.of(), leaf);
        assertEquals("SELECT \"region\", \"id\" FROM \"public\".\"orders\" WHERE (tableoid = CAST(? AS pg_catalog.oid)"
                + " AND ((region IS NOT NULL) AND (region = 'eu'))) ORDER BY \"public\".\"orders\".\"region\","
                + " \"public\".\"orders\".\"id\"", first.sql());
        assertEquals(List.of("16401"), first.binds());
        KeysetQuery resumed = KeysetQuery.snapshot(ORDERS, false, select(REGION, ID), List.of(REGION, ID),
                List.of("eu", 9L), List.of(), List.of(), leaf);
        assertEquals("SELECT \"region\", \"id\" FROM \"public\".\"orders\" WHERE (\"region\", \"id\") >"
                + " (CAST(? AS text), CAST(? AS integer)) AND (tableoid = CAST(? AS pg_catalog.oid)"
                + " AND ((region IS NOT NULL) AND (region = 'eu'))) ORDER BY \"public\".\"orders\".\"region\","
                + " \"public\".\"orders\".\"id\"", resumed.sql());
        assertEquals(List.of("eu", 9L, "16401"), resumed.binds());
    }
}

package dev.pgkeyset.connect.pg;

/**
 * One column as {@code pg_attribute} describes it.
 *
 * @param name        the column name, unquoted
 * @param type        the type, with domains resolved to their base type
 * @param typeName    {@code format_type(type, typmod)} of the declared type, e.g. {@code character(10)};
 *                    used in casts, where the modifier matters ({@code character} alone means
 *                    {@code character(1)})
 * @param dimensions  declared array dimensions ({@code attndims}: {@code int[][]} has 2); 0 when
 *                    not an array or not declared. PostgreSQL does not enforce it.
 * @param notNull     declared NOT NULL, on the column or on a domain of its type
 */
public record ColumnInfo(String name, PgType type, String typeName, int dimensions, boolean notNull) {

    /** A column of a plain base type. */
    public ColumnInfo(String name, int typeOid, String typeName, int typmod, boolean notNull) {
        this(name, PgType.base(typeOid, typmod), typeName, 0, notNull);
    }

    /** The base type's OID (for an array, the array type's). */
    public int typeOid() {
        return type.oid();
    }

    /** The type modifier, -1 when none (e.g. numeric's precision and scale). */
    public int typmod() {
        return type.typmod();
    }
}

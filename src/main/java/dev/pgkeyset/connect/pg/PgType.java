package dev.pgkeyset.connect.pg;

/**
 * A column's type as its mapping sees it: domains resolved to their base type (a domain over a
 * domain too), arrays with their element type resolved the same way.
 *
 * @param oid      the base type's OID
 * @param typtype  {@code pg_type.typtype} of the base type: {@code b} base, {@code e} enum,
 *                 {@code r} range, {@code m} multirange, {@code c} composite, {@code p} pseudo
 * @param typmod   the modifier that applies (the column's, else the innermost domain's); -1 for none.
 *                 For an array it is the elements' modifier, as in PostgreSQL.
 * @param element  the element type of an array type, else null
 * @param name     {@code pg_type.typname} of the base type (extension types such as hstore have no
 *                 fixed OID), or null when not read from the catalog
 * @param labels   an enum's labels in their sort order, else empty
 */
public record PgType(int oid, char typtype, int typmod, PgType element, String name, java.util.List<String> labels) {

    public PgType {
        labels = labels == null ? java.util.List.of() : java.util.List.copyOf(labels);
    }

    /** A type known by its OID alone (no name, no enum labels). */
    public PgType(int oid, char typtype, int typmod, PgType element) {
        this(oid, typtype, typmod, element, null, java.util.List.of());
    }

    /** A plain base type (no enum, range, array): what tests and built-in columns mostly need. */
    public static PgType base(int oid, int typmod) {
        return new PgType(oid, 'b', typmod, null);
    }

    public boolean isArray() {
        return element != null;
    }
}

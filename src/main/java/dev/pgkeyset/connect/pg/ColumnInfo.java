package dev.pgkeyset.connect.pg;

/**
 * One column as {@code pg_attribute} describes it.
 *
 * @param name        the column name, unquoted
 * @param typeOid     the type, with domains resolved to their base type
 * @param typeName    {@code format_type(type, typmod)}, e.g. {@code character(10)}; used in casts,
 *                    where the modifier matters ({@code character} alone means {@code character(1)})
 * @param typmod      the type modifier, -1 when none (e.g. numeric's precision and scale)
 * @param notNull     declared NOT NULL
 */
public record ColumnInfo(String name, int typeOid, String typeName, int typmod, boolean notNull) {
}

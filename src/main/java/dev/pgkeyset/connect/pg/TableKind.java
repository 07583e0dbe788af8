package dev.pgkeyset.connect.pg;

/** The kinds of relation a connector can read, from {@code pg_class.relkind}. */
public enum TableKind {
    TABLE('r'),
    PARTITIONED_TABLE('p'),
    VIEW('v'),
    MATERIALIZED_VIEW('m'),
    FOREIGN_TABLE('f');

    private final char relkind;

    TableKind(char relkind) {
        this.relkind = relkind;
    }

    public static TableKind ofRelkind(String relkind) {
        for (TableKind kind : values()) {
            if (kind.relkind == relkind.charAt(0)) {
                return kind;
            }
        }
        throw new IllegalArgumentException("unsupported relkind " + relkind);
    }

    /** Views, materialized views and foreign tables have no primary key: they need {@code key.columns}. */
    public boolean canHavePrimaryKey() {
        return this == TABLE || this == PARTITIONED_TABLE;
    }

    /**
     * Plain tables are read with {@code FROM ONLY}: with legacy inheritance a parent's scan would
     * also return its children's rows, which are captured as tables of their own.
     */
    public boolean readWithOnly() {
        return this == TABLE;
    }
}

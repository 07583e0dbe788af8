package dev.pgkeyset.connect.schema;

/** Type OIDs of PostgreSQL's built-in types (stable across versions, from {@code pg_type.dat}). */
public final class PgTypes {
    static final int BOOL = 16;
    static final int BYTEA = 17;
    static final int CHAR = 18;
    static final int NAME = 19;
    static final int INT8 = 20;
    static final int INT2 = 21;
    static final int INT4 = 23;
    static final int TEXT = 25;
    static final int OID = 26;
    static final int JSON = 114;
    static final int XML = 142;
    static final int POINT = 600;
    static final int LSEG = 601;
    static final int PATH = 602;
    static final int BOX = 603;
    static final int POLYGON = 604;
    static final int LINE = 628;
    static final int CIDR = 650;
    static final int FLOAT4 = 700;
    static final int FLOAT8 = 701;
    static final int CIRCLE = 718;
    static final int MACADDR8 = 774;
    public static final int MONEY = 790;
    static final int MACADDR = 829;
    static final int INET = 869;
    static final int BPCHAR = 1042;
    static final int VARCHAR = 1043;
    static final int DATE = 1082;
    static final int TIME = 1083;
    static final int TIMESTAMP = 1114;
    static final int TIMESTAMPTZ = 1184;
    static final int INTERVAL = 1186;
    static final int TIMETZ = 1266;
    static final int BIT = 1560;
    static final int VARBIT = 1562;
    static final int NUMERIC = 1700;
    static final int UUID = 2950;
    static final int PG_LSN = 3220;
    static final int TSVECTOR = 3614;
    static final int TSQUERY = 3615;
    static final int JSONB = 3802;

    private PgTypes() {
    }
}

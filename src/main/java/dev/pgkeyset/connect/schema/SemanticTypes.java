package dev.pgkeyset.connect.schema;

/**
 * Schema names of STRING and INT64 fields whose type Connect has no logical type for, so a
 * consumer (or a converter such as Avro's) can tell a JSON document from plain text.
 */
public final class SemanticTypes {

    /** INT64 microseconds since the epoch ({@code time.precision.mode=micros}). */
    public static final String MICRO_TIMESTAMP = "dev.pgkeyset.time.MicroTimestamp";
    /** INT64 microseconds of the day ({@code time.precision.mode=micros}). */
    public static final String MICRO_TIME = "dev.pgkeyset.time.MicroTime";
    /** STRING: an ISO 8601 duration, exact ({@code P1Y2M3DT4H5M6.000007S}). */
    public static final String INTERVAL = "dev.pgkeyset.time.Interval";
    /** STRING: a time of day with its UTC offset, PostgreSQL's text ({@code 13:14:15.123456+02}). */
    public static final String TIME_TZ = "dev.pgkeyset.time.TimeTz";
    /** STRING: a json or jsonb document. */
    public static final String JSON = "dev.pgkeyset.data.Json";
    /** STRING: an xml document or fragment. */
    public static final String XML = "dev.pgkeyset.data.Xml";
    /** STRING: one label of a PostgreSQL enum type. */
    public static final String ENUM = "dev.pgkeyset.data.Enum";
    /** STRING: a range in PostgreSQL's text form ({@code [1,10)}). */
    public static final String RANGE = "dev.pgkeyset.data.Range";
    /** STRING: a multirange in PostgreSQL's text form ({@code {[1,3),[5,7)}}). */
    public static final String MULTIRANGE = "dev.pgkeyset.data.Multirange";
    /** STRING of 0 and 1: a bit or bit varying value. */
    public static final String BITS = "dev.pgkeyset.data.Bits";

    private SemanticTypes() {
    }
}

package dev.pgkeyset.connect.record;

import java.util.Map;

import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;

import dev.pgkeyset.connect.Version;
import dev.pgkeyset.connect.pg.TableId;

/**
 * The {@code source} block of an envelope: where a change came from, under the field names and
 * types of a Debezium PostgreSQL event ({@code io.debezium.connector.postgresql.Source}), so a
 * consumer written for Debezium reads it unchanged. What is the same for every record of a table
 * is set once; a record adds its times, snapshot marker, transaction and LSN.
 */
public final class SourceInfo {

    /** Debezium's value for {@code connector}: consumers switch on it to read the rest. */
    public static final String CONNECTOR = "postgresql";
    public static final String SCHEMA_NAME = "io.debezium.connector.postgresql.Source";

    /** Debezium's {@code snapshot} markers; this connector sends "true", "last_in_data_collection" and "false". */
    static final String SNAPSHOT_ALLOWED = "true,first,first_in_data_collection,last_in_data_collection,last,false,"
            + "incremental";

    /** A string enum as Debezium declares it ({@code io.debezium.data.Enum}, the allowed values as a parameter). */
    private static final Schema SNAPSHOT_SCHEMA = SchemaBuilder.string().name("io.debezium.data.Enum").version(1)
            .parameters(Map.of("allowed", SNAPSHOT_ALLOWED)).defaultValue("false").optional().build();

    public static final Schema SCHEMA = SchemaBuilder.struct().name(SCHEMA_NAME)
            .field("version", Schema.STRING_SCHEMA)
            .field("connector", Schema.STRING_SCHEMA)
            .field("name", Schema.STRING_SCHEMA)
            .field("ts_ms", Schema.INT64_SCHEMA)
            .field("snapshot", SNAPSHOT_SCHEMA)
            .field("db", Schema.STRING_SCHEMA)
            .field("sequence", Schema.OPTIONAL_STRING_SCHEMA)
            .field("ts_us", Schema.OPTIONAL_INT64_SCHEMA)
            .field("ts_ns", Schema.OPTIONAL_INT64_SCHEMA)
            .field("schema", Schema.STRING_SCHEMA)
            .field("table", Schema.STRING_SCHEMA)
            .field("txId", Schema.OPTIONAL_INT64_SCHEMA)
            .field("lsn", Schema.OPTIONAL_INT64_SCHEMA)
            .field("xmin", Schema.OPTIONAL_INT64_SCHEMA)
            // Debezium 3.7's replication origin of the change: declared so code reading it finds the
            // field, always null here (pgoutput's Origin messages are not passed on).
            .field("origin", Schema.OPTIONAL_STRING_SCHEMA)
            .field("origin_lsn", Schema.OPTIONAL_INT64_SCHEMA)
            .build();

    private static final Field[] FIELDS = SCHEMA.fields().toArray(Field[]::new);
    private static final int VERSION = 0, CONNECTOR_FIELD = 1, NAME = 2, TS_MS = 3, SNAPSHOT = 4, DB = 5,
            SEQUENCE = 6, TS_US = 7, TS_NS = 8, SCHEMA_FIELD = 9, TABLE = 10, TX_ID = 11, LSN = 12;

    /** Where a record was read: the snapshot, its last record of a table, or a change. */
    public enum Snapshot {
        TRUE("true"), LAST_IN_TABLE("last_in_data_collection"), FALSE("false");

        final String marker;

        Snapshot(String marker) {
            this.marker = marker;
        }
    }

    private final String serverName;
    private final String database;
    private final TableId table;

    /**
     * @param serverName topic.prefix (Debezium's logical server name)
     * @param database   the database the tables are in
     */
    public SourceInfo(String serverName, String database, TableId table) {
        this.serverName = serverName;
        this.database = database;
        this.table = table;
    }

    /**
     * @param epochMicros when the change was made (a change's commit time), or the row was read
     * @param txId        the PostgreSQL transaction, or null where unknown (query mode)
     * @param lsn         the change's WAL position, or null where unknown (query mode)
     * @param sequence    Debezium's {@code ["<last commit LSN>","<LSN>"]}, or null
     */
    public Struct struct(long epochMicros, Snapshot snapshot, Long txId, Long lsn, String sequence) {
        Struct source = new Struct(SCHEMA);
        Object[] values = PrevalidatedStruct.valuesOf(source);
        set(source, values, VERSION, Version.get());
        set(source, values, CONNECTOR_FIELD, CONNECTOR);
        set(source, values, NAME, serverName);
        set(source, values, TS_MS, Math.floorDiv(epochMicros, 1000L));
        set(source, values, SNAPSHOT, snapshot.marker);
        set(source, values, DB, database);
        set(source, values, SEQUENCE, sequence);
        set(source, values, TS_US, epochMicros);
        set(source, values, TS_NS, safeNanos(epochMicros));
        set(source, values, SCHEMA_FIELD, table.schema());
        set(source, values, TABLE, table.table());
        set(source, values, TX_ID, txId);
        set(source, values, LSN, lsn);
        // xmin: Debezium fills it only with xmin.fetch.interval.ms; never known here.
        return source;
    }

    private static Long safeNanos(long epochMicros) {
        try {
            return Math.multiplyExact(epochMicros, 1000L);
        } catch (ArithmeticException overflow) {
            return null;
        }
    }

    private static void set(Struct struct, Object[] values, int index, Object value) {
        if (value != null) {
            PrevalidatedStruct.set(struct, values, FIELDS, index, value);
        }
    }
}

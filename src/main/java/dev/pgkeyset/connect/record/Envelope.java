package dev.pgkeyset.connect.record;

import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;

/**
 * The value of a record in {@code record.format=envelope}: Debezium's change-event envelope
 * ({@code before}, {@code after}, {@code source}, {@code op}, {@code ts_ms}) around the rows the
 * {@code row} format sends, under Debezium's field names and types. Its schema is built once per
 * table plan; a record only fills a Struct.
 */
public final class Envelope {

    /** Debezium's operation codes. */
    public static final String READ = "r", CREATE = "c", UPDATE = "u", DELETE = "d", TRUNCATE = "t";

    private static final int BEFORE = 0, AFTER = 1, SOURCE = 2, TRANSACTION = 3, OP = 4, TS_MS = 5, TS_US = 6,
            TS_NS = 7;

    private final Schema schema;
    private final Field[] fields;
    private final SourceInfo source;

    /**
     * @param valueSchema the row's schema ({@code <topic>.Value}, optional), as the row format sends it
     */
    public Envelope(String topic, Schema valueSchema, SourceInfo source) {
        if (!valueSchema.isOptional()) {
            throw new IllegalArgumentException("before and after may be null: the row schema must be optional");
        }
        // Debezium's envelope, version 2: the transaction block is always declared, set only with
        // provide.transaction.metadata.
        this.schema = SchemaBuilder.struct().name(topic + ".Envelope").version(2)
                .field("before", valueSchema)
                .field("after", valueSchema)
                .field("source", SourceInfo.SCHEMA)
                .field("transaction", TransactionSchemas.BLOCK)
                .field("op", Schema.STRING_SCHEMA)
                .field("ts_ms", Schema.OPTIONAL_INT64_SCHEMA)
                .field("ts_us", Schema.OPTIONAL_INT64_SCHEMA)
                .field("ts_ns", Schema.OPTIONAL_INT64_SCHEMA)
                .build();
        this.fields = schema.fields().toArray(Field[]::new);
        this.source = source;
    }

    public Schema schema() {
        return schema;
    }

    public SourceInfo source() {
        return source;
    }

    /**
     * One event. {@code before} and {@code after} are Structs of the row schema (either may be
     * null); the event's own times are now, when the connector made it, as Debezium's are.
     *
     * @param transaction the change's place in its transaction ({@link TransactionSchemas#block}), or null
     */
    public Struct struct(Struct before, Struct after, String op, Struct sourceStruct, Struct transaction) {
        java.time.Instant now = java.time.Instant.now();
        long micros = Math.addExact(Math.multiplyExact(now.getEpochSecond(), 1_000_000L), now.getNano() / 1000);
        Struct envelope = new Struct(schema);
        Object[] values = PrevalidatedStruct.valuesOf(envelope);
        if (before != null) {
            PrevalidatedStruct.set(envelope, values, fields, BEFORE, before);
        }
        if (after != null) {
            PrevalidatedStruct.set(envelope, values, fields, AFTER, after);
        }
        PrevalidatedStruct.set(envelope, values, fields, SOURCE, sourceStruct);
        if (transaction != null) {
            PrevalidatedStruct.set(envelope, values, fields, TRANSACTION, transaction);
        }
        PrevalidatedStruct.set(envelope, values, fields, OP, op);
        PrevalidatedStruct.set(envelope, values, fields, TS_MS, now.toEpochMilli());
        PrevalidatedStruct.set(envelope, values, fields, TS_US, micros);
        PrevalidatedStruct.set(envelope, values, fields, TS_NS, micros * 1000L + now.getNano() % 1000);
        return envelope;
    }
}

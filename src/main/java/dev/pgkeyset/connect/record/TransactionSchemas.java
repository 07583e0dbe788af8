package dev.pgkeyset.connect.record;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;

/**
 * Transaction metadata ({@code provide.transaction.metadata}) under Debezium's names and types, so
 * a consumer written for Debezium reads it unchanged: the BEGIN and END events of the transaction
 * topic (key {@code TransactionMetadataKey}, value {@code TransactionMetadataValue}, END with its
 * event counts per table) and the {@code transaction} block ({@code event.block}) of each change.
 */
public final class TransactionSchemas {

    public static final String BEGIN = "BEGIN", END = "END";

    public static final Schema KEY = SchemaBuilder.struct()
            .name("io.debezium.connector.common.TransactionMetadataKey").version(1)
            .field("id", Schema.STRING_SCHEMA)
            .build();

    /** One table's count in an END event. */
    static final Schema COLLECTION = SchemaBuilder.struct().name("event.collection").version(1).optional()
            .field("data_collection", Schema.STRING_SCHEMA)
            .field("event_count", Schema.INT64_SCHEMA)
            .build();

    public static final Schema VALUE = SchemaBuilder.struct()
            .name("io.debezium.connector.common.TransactionMetadataValue").version(1)
            .field("status", Schema.STRING_SCHEMA)
            .field("id", Schema.STRING_SCHEMA)
            .field("event_count", Schema.OPTIONAL_INT64_SCHEMA)
            .field("data_collections", SchemaBuilder.array(COLLECTION).optional().build())
            .field("ts_ms", Schema.INT64_SCHEMA)
            .build();

    /** The envelope's {@code transaction} field: always in the schema, null unless metadata is on. */
    public static final Schema BLOCK = SchemaBuilder.struct().name("event.block").version(1).optional()
            .field("id", Schema.STRING_SCHEMA)
            .field("total_order", Schema.INT64_SCHEMA)
            .field("data_collection_order", Schema.INT64_SCHEMA)
            .build();

    private TransactionSchemas() {
    }

    /**
     * A change's place in its transaction.
     *
     * @param totalOrder          1 for the transaction's first event, over every captured table
     * @param dataCollectionOrder 1 for the first event of this table in the transaction
     */
    public static Struct block(String id, long totalOrder, long dataCollectionOrder) {
        return new Struct(BLOCK).put("id", id).put("total_order", totalOrder)
                .put("data_collection_order", dataCollectionOrder);
    }

    public static Struct key(String id) {
        return new Struct(KEY).put("id", id);
    }

    public static Struct begin(String id, long epochMillis) {
        return new Struct(VALUE).put("status", BEGIN).put("id", id).put("ts_ms", epochMillis);
    }

    /** @param countsByTable events per {@code schema.table}, in the order the transaction first touched them */
    public static Struct end(String id, long epochMillis, Map<String, Long> countsByTable) {
        List<Struct> collections = new ArrayList<>(countsByTable.size());
        long total = 0;
        for (Map.Entry<String, Long> table : countsByTable.entrySet()) {
            collections.add(new Struct(COLLECTION).put("data_collection", table.getKey())
                    .put("event_count", table.getValue()));
            total += table.getValue();
        }
        return new Struct(VALUE).put("status", END).put("id", id).put("event_count", total)
                .put("data_collections", collections).put("ts_ms", epochMillis);
    }
}

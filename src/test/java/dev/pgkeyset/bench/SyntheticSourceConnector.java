package dev.pgkeyset.bench;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.header.ConnectHeaders;
import org.apache.kafka.connect.source.SourceConnector;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.source.SourceTask;

/**
 * The framework's ceiling: emits, from memory, the very records the connector makes of
 * {@code pgbench_accounts} (same topic, schemas, values, header and offset shape), with no
 * database, so the same worker and converter measure what Kafka Connect itself can carry.
 * With {@code shape=wal} the records are those of the WAL drain (line 9) instead: the same
 * schemas, an update's three headers ({@code pgkeyset.op=u}, {@code pgkeyset.lsn},
 * {@code pgkeyset.txid}) and the slot's partition and {@code (commit_lsn, event)} offsets,
 * {@code rows.per.transaction} records sharing a commit LSN.
 */
public class SyntheticSourceConnector extends SourceConnector {

    static final String ROWS = "rows";
    static final String TOPIC = "topic";
    static final String SHAPE = "shape";
    static final String ROWS_PER_TRANSACTION = "rows.per.transaction";

    private Map<String, String> props;

    @Override
    public void start(Map<String, String> props) {
        this.props = props;
    }

    @Override
    public Class<? extends Task> taskClass() {
        return SyntheticTask.class;
    }

    @Override
    public List<Map<String, String>> taskConfigs(int maxTasks) {
        return List.of(props);
    }

    @Override
    public void stop() {
    }

    @Override
    public ConfigDef config() {
        return new ConfigDef()
                .define(ROWS, ConfigDef.Type.LONG, ConfigDef.Importance.HIGH, "rows to emit")
                .define(TOPIC, ConfigDef.Type.STRING, ConfigDef.Importance.HIGH, "topic")
                .define(SHAPE, ConfigDef.Type.STRING, "snapshot", ConfigDef.Importance.LOW, "snapshot or wal")
                .define(ROWS_PER_TRANSACTION, ConfigDef.Type.INT, 200, ConfigDef.Importance.LOW,
                        "records per commit LSN (shape=wal)");
    }

    @Override
    public String version() {
        return "bench";
    }

    public static class SyntheticTask extends SourceTask {
        private static final String FILLER = " ".repeat(84);
        private long rows;
        private long next = 1;
        private String topic;
        private Schema keySchema;
        private Schema valueSchema;
        private final Map<String, Object> partition = Map.of("table", "public.pgbench_accounts");
        private final Map<String, Object> slotPartition = Map.of("slot", "wal_bench_ceiling");
        private boolean walShape;
        private int rowsPerTransaction;
        private long lsnTransaction = -1;
        private String commitLsn;

        @Override
        public void start(Map<String, String> props) {
            rows = Long.parseLong(props.get(ROWS));
            topic = props.get(TOPIC);
            walShape = "wal".equals(props.get(SHAPE));
            rowsPerTransaction = Integer.parseInt(props.getOrDefault(ROWS_PER_TRANSACTION, "200"));
            keySchema = SchemaBuilder.struct().name(topic + ".Key").field("aid", Schema.INT32_SCHEMA).build();
            valueSchema = SchemaBuilder.struct().name(topic + ".Value").optional()
                    .field("aid", Schema.INT32_SCHEMA)
                    .field("bid", Schema.OPTIONAL_INT32_SCHEMA)
                    .field("abalance", Schema.OPTIONAL_INT32_SCHEMA)
                    .field("filler", Schema.OPTIONAL_STRING_SCHEMA).build();
        }

        @Override
        public List<SourceRecord> poll() throws InterruptedException {
            if (next > rows) {
                Thread.sleep(100);
                return null;
            }
            List<SourceRecord> batch = new ArrayList<>(5000);
            for (int i = 0; i < 5000 && next <= rows; i++, next++) {
                if (walShape) {
                    batch.add(walRecord((int) next));
                    continue;
                }
                int aid = (int) next;
                Struct key = new Struct(keySchema).put("aid", aid);
                Struct value = new Struct(valueSchema).put("aid", aid).put("bid", (aid - 1) / 100_000 + 1)
                        .put("abalance", 0).put("filler", FILLER);
                Map<String, Object> offset = new HashMap<>(4);
                offset.put("phase", next == rows ? "snapshot_complete" : "snapshot");
                offset.put("key_columns", "[\"aid\"]");
                offset.put("key", "[" + aid + "]");
                batch.add(new SourceRecord(partition, offset, topic, null, keySchema, key, valueSchema, value, null,
                        new ConnectHeaders().addString("pgkeyset.op", "r")));
            }
            return batch;
        }

        /**
         * Row {@code aid}'s update as the WAL drain's records are: transactions of
         * {@code rowsPerTransaction} updates, each transaction's records sharing one commit LSN
         * (about 56 KiB of WAL apart, as in the drain's backlog), event 2 x change + 1.
         */
        private SourceRecord walRecord(int aid) {
            long transaction = (aid - 1) / rowsPerTransaction;
            long change = (aid - 1) % rowsPerTransaction;
            if (transaction != lsnTransaction) {
                lsnTransaction = transaction;
                commitLsn = dev.pgkeyset.connect.changes.wal.Lsn.format(0x3000000L + transaction * 57_344);
            }
            Struct key = new Struct(keySchema).put("aid", aid);
            Struct value = new Struct(valueSchema).put("aid", aid).put("bid", (aid - 1) / 100_000 + 1)
                    .put("abalance", 1).put("filler", FILLER);
            Map<String, Object> offset = new HashMap<>(4);
            offset.put("commit_lsn", commitLsn);
            offset.put("event", 2 * change + 1);
            ConnectHeaders headers = new ConnectHeaders();
            headers.addString("pgkeyset.op", "u");
            headers.addString("pgkeyset.lsn", commitLsn);
            headers.addLong("pgkeyset.txid", 1000 + transaction);
            return new SourceRecord(slotPartition, offset, topic, null, keySchema, key, valueSchema, value, null,
                    headers);
        }

        @Override
        public void stop() {
        }

        @Override
        public String version() {
            return "bench";
        }
    }
}

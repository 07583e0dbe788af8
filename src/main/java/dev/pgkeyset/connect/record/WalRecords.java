package dev.pgkeyset.connect.record;

import java.util.Map;

import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.header.Headers;
import org.apache.kafka.connect.source.SourceRecord;

/**
 * The records of changes decoded from the WAL (capture.mode=wal): in a partition and at an offset
 * of the stream's, with the operation the WAL names (insert, update, delete, truncate) and, in
 * record.format=envelope, the old row and the change's transaction and LSN, which a query cannot
 * know. Key and value Structs come from the same {@link RowStructs} as a query's records, so a row
 * gives equal keys and values in both modes.
 */
final class WalRecords {

    private final String topic;
    private final Schema keySchema;
    private final Schema valueSchema;
    private final RowStructs structs;
    /** The value's envelope in record.format=envelope; null in record.format=row. */
    private final Envelope envelope;

    WalRecords(String topic, RowLayout layout, RowStructs structs, Envelope envelope) {
        this.topic = topic;
        this.keySchema = layout.keySchema();
        this.valueSchema = layout.valueSchema();
        this.structs = structs;
        this.envelope = envelope;
    }

    /** Adds a header holding the key of {@code raw} (with the key's schema), as Debezium names a key change's other key. */
    void addKeyHeader(Headers headers, String name, Object[] raw) {
        headers.add(name, structs.key(raw), keySchema);
    }

    /**
     * A change record of one row's raw values: topic, key and value as in the snapshot.
     * {@code tombstone}: a null value (a delete; only the key columns of {@code raw} need values).
     * {@code headers} already carry the operation.
     */
    SourceRecord toChangeRecord(Object[] raw, boolean tombstone, Map<String, ?> partition, Map<String, ?> offset,
                                Headers headers) {
        Struct key = structs.key(raw);
        if (tombstone) {
            return new SourceRecord(partition, offset, topic, null, keySchema, key, null, null, null, headers);
        }
        Struct value = structs.value(raw);
        return new SourceRecord(partition, offset, topic, null, keySchema, key, valueSchema, value, null, headers);
    }

    /**
     * A record that stands for the whole table (a TRUNCATE): no key, on the table's topic; no value
     * in record.format=row, an op=t envelope with neither row in record.format=envelope.
     */
    SourceRecord toTableRecord(Map<String, ?> partition, Map<String, ?> offset, Headers headers, WalSource source) {
        if (envelope != null) {
            Struct event = envelope.struct(null, null, Envelope.TRUNCATE, walSource(source), source.transaction());
            return new SourceRecord(partition, offset, topic, null, null, null, envelope.schema(), event, null,
                    headers);
        }
        return new SourceRecord(partition, offset, topic, null, null, null, null, null, null, headers);
    }

    /**
     * The envelope record of a change (record.format=envelope). {@code before}: the old row, or
     * only its key columns (REPLICA IDENTITY DEFAULT), or null; {@code after}: the new row, or null
     * for a delete. The key is the new row's, or the old one's for a delete.
     */
    SourceRecord toEnvelopeRecord(Object[] before, Object[] after, String op, WalSource source,
                                  Map<String, ?> partition, Map<String, ?> offset, Headers headers) {
        Struct key = structs.key(after != null ? after : before);
        Struct event = envelope.struct(before == null ? null : structs.value(before),
                after == null ? null : structs.value(after), op, walSource(source), source.transaction());
        return new SourceRecord(partition, offset, topic, null, keySchema, key, envelope.schema(), event, null,
                headers);
    }

    private Struct walSource(WalSource source) {
        return envelope.source().struct(source.commitEpochMicros(), SourceInfo.Snapshot.FALSE, source.txId(),
                source.lsn(), null);
    }
}

package dev.pgkeyset.connect.record;

import java.time.Instant;
import java.util.Map;

import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.header.ConnectHeaders;
import org.apache.kafka.connect.header.Headers;
import org.apache.kafka.connect.source.SourceRecord;

import dev.pgkeyset.connect.offset.Phase;

/**
 * The records of rows a query reads: the snapshot's (in either capture mode) and the query-mode
 * change phase's. A query sees only the row as it is now, so its op is {@code r} or {@code u} (or
 * {@code d} for a row the soft-delete column marks) and an envelope has no {@code before} and no
 * transaction or WAL position; the WAL's records, which know those, are {@link WalRecords}'.
 */
final class QueryRecords {

    private final String topic;
    private final Map<String, Object> partition;
    private final Schema keySchema;
    private final Schema valueSchema;
    private final RowStructs structs;
    private final RowPositions positions;
    /** The value's envelope in record.format=envelope; null in record.format=row. */
    private final Envelope envelope;
    /** Whether the plan reads one key range of a split table, whose last row is not the table's. */
    private final boolean keyRange;
    /** Index of the soft-delete column, -1 when there is none. */
    private final int softDeleteIndex;
    private final boolean tombstonesOnDelete;

    QueryRecords(String topic, Map<String, Object> partition, RowLayout layout, RowStructs structs,
                 RowPositions positions, Envelope envelope, boolean keyRange, int softDeleteIndex,
                 boolean tombstonesOnDelete) {
        this.topic = topic;
        this.partition = partition;
        this.keySchema = layout.keySchema();
        this.valueSchema = layout.valueSchema();
        this.structs = structs;
        this.positions = positions;
        this.envelope = envelope;
        this.keyRange = keyRange;
        this.softDeleteIndex = softDeleteIndex;
        this.tombstonesOnDelete = tombstonesOnDelete;
    }

    private boolean softDeleted(Object[] raw) {
        if (softDeleteIndex < 0) {
            return false;
        }
        Object marker = raw[softDeleteIndex];
        return marker instanceof Boolean deleted ? deleted : marker != null;
    }

    /**
     * The record of one row. A row marked by the soft-delete column becomes a tombstone (null value,
     * op {@code d}); otherwise the op is {@code r} in the snapshot and {@code u} in the change phase.
     */
    SourceRecord toRecord(Object[] raw, Object[] position, Phase phase, String changesFrom) {
        Struct key = structs.key(raw);
        Map<String, Object> offset = positions.offset(phase, position, changesFrom);
        Headers headers = new ConnectHeaders();
        if (softDeleted(raw)) {
            headers.addString(TablePlan.OP_HEADER, "d");
            if (envelope != null) {
                // The row as last read is what was deleted; its tombstone follows (tombstoneFollowing).
                Struct event = envelope.struct(structs.value(raw), null, Envelope.DELETE, readSource(phase), null);
                return new SourceRecord(partition, offset, topic, null, keySchema, key, envelope.schema(), event,
                        null, headers);
            }
            return new SourceRecord(partition, offset, topic, null, keySchema, key, null, null, null, headers);
        }
        Struct value = structs.value(raw);
        String op = phase == Phase.INCREMENTAL ? "u" : "r";
        headers.addString(TablePlan.OP_HEADER, op);
        if (envelope != null) {
            // A query cannot tell an insert from an update, nor show the row before: op u, before null.
            Struct event = envelope.struct(null, value, op, readSource(phase), null);
            return new SourceRecord(partition, offset, topic, null, keySchema, key, envelope.schema(), event, null,
                    headers);
        }
        return new SourceRecord(partition, offset, topic, null, keySchema, key, valueSchema, value, null, headers);
    }

    /** The source of a row read by a query: read now, no transaction or WAL position known. */
    private Struct readSource(Phase phase) {
        SourceInfo.Snapshot snapshot = switch (phase) {
            case SNAPSHOT -> SourceInfo.Snapshot.TRUE;
            // The last row of this plan's range: the table's last only when the table is read whole.
            case SNAPSHOT_COMPLETE -> keyRange ? SourceInfo.Snapshot.TRUE : SourceInfo.Snapshot.LAST_IN_TABLE;
            case INCREMENTAL -> SourceInfo.Snapshot.FALSE;
        };
        Instant now = Instant.now();
        return envelope.source().struct(now.getEpochSecond() * 1_000_000L + now.getNano() / 1000, snapshot, null,
                null, null);
    }

    /**
     * In record.format=envelope with tombstones.on.delete, the tombstone that follows a delete
     * event {@code record} of this plan (same key, headers and offset); null for any other record.
     */
    SourceRecord tombstoneFollowing(SourceRecord record) {
        if (envelope == null || !tombstonesOnDelete || !(record.value() instanceof Struct event)
                || event.schema() != envelope.schema() || !Envelope.DELETE.equals(event.get("op"))) {
            return null;
        }
        return new SourceRecord(record.sourcePartition(), record.sourceOffset(), topic, null, keySchema,
                record.key(), null, null, null, record.headers().duplicate());
    }
}

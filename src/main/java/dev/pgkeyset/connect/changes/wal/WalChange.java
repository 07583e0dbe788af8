package dev.pgkeyset.connect.changes.wal;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.header.ConnectHeaders;
import org.apache.kafka.connect.source.SourceRecord;

import dev.pgkeyset.connect.offset.WalOffset;
import dev.pgkeyset.connect.record.Envelope;
import dev.pgkeyset.connect.record.TablePlan;
import dev.pgkeyset.connect.record.WalSource;

/**
 * One record to be made from the WAL: a row's raw values in its table's plan (as of the Relation
 * message before it), where it goes in the stream, and the columns still to be fetched by key
 * (unchanged TOAST values the WAL did not carry). Built into a record only once they are known.
 */
final class WalChange {

    static final String LSN_HEADER = "pgkeyset.lsn";
    static final String TXID_HEADER = "pgkeyset.txid";
    /** Columns whose value could not be had (the row was gone when fetched): sent as null. */
    static final String UNAVAILABLE_HEADER = "pgkeyset.unavailable";
    /** Debezium's headers on a key change's events (record.format=envelope): the key of the other event. */
    static final String NEW_KEY_HEADER = "__debezium.newkey", OLD_KEY_HEADER = "__debezium.oldkey";

    final TablePlan plan;
    final Object[] raw;
    /** A tombstone (delete); null for a truncate, which has no key either. */
    final Kind kind;
    final WalOffset offset;
    /** {@code offset}'s commit LSN as text, for the offset and the header: one String per transaction. */
    final String commitLsnText;
    final long xid;
    /** Indexes of columns to fetch by key; null when none. */
    int[] missing;
    /** Names of {@link #missing} columns whose row was gone; null when none. */
    String unavailable;
    /** The last record of its PostgreSQL transaction: where a Kafka transaction may end. */
    boolean lastOfTransaction;
    /** The size estimated when queued, renewed once its TOAST values are fetched. */
    long estimatedBytes;
    private SourceRecord record;
    /**
     * record.format=envelope only (null otherwise): the old row as the WAL logged it, whole with
     * REPLICA IDENTITY FULL, else only its key columns (deletes and key changes); null when the WAL
     * has no old row.
     */
    Object[] before;
    /** record.format=envelope only: an update that changed the key, sent as an insert (op c) of the new key. */
    boolean keyChanged;
    /**
     * record.format=envelope only: of a key change, the other key's row (the new one for the old
     * key's delete event, the old one for the new key's create event), named in a header as
     * Debezium does; null otherwise.
     */
    Object[] otherKey;
    /** record.format=envelope only: the transaction and WAL position for the source block. */
    WalSource source;
    /** provide.transaction.metadata only: the change's place in its transaction (in record.format=row, as headers). */
    Struct transaction;
    /** provide.transaction.metadata is on: the offset says so ({@link WalOffset#TRANSACTION_METADATA}). */
    boolean transactionMetadata;
    /** The captured tables' partitions as the offset carries them (PartitionWatch); null when none is captured. */
    String partitions;

    /** A row read by a snapshot chunk ({@link #snapshotRow}): its record is made already. */
    private long prebuiltBytes = -1;

    enum Kind {
        READ("r"), INSERT("c"), UPDATE("u"), DELETE("d"), TRUNCATE("t"),
        /** record.format=envelope: the tombstone after a delete event (in row format the delete is the tombstone). */
        TOMBSTONE("d");

        final String op;

        Kind(String op) {
            this.op = op;
        }
    }

    WalChange(TablePlan plan, Object[] raw, Kind kind, WalOffset offset, String commitLsnText, long xid,
              int[] missing) {
        this.plan = plan;
        this.raw = raw;
        this.kind = kind;
        this.offset = offset;
        this.commitLsnText = commitLsnText;
        this.xid = xid;
        this.missing = missing;
    }

    /** A BEGIN or END event of provide.transaction.metadata, at {@code offset} in its transaction. */
    static WalChange transactionEvent(SourceRecord record, WalOffset offset) {
        WalChange change = new WalChange(null, null, Kind.READ, offset, null, 0, null);
        change.record = record;
        change.prebuiltBytes = 160;
        return change;
    }

    /** A snapshot chunk's row, handed over in stream order at the chunk's watermark. */
    static WalChange snapshotRow(SourceRecord record, long bytes) {
        WalChange change = new WalChange(null, null, Kind.READ, null, null, 0, null);
        change.record = record;
        change.prebuiltBytes = bytes;
        return change;
    }

    boolean waitsForFetch() {
        return missing != null;
    }

    long estimateBytes() {
        if (prebuiltBytes >= 0) {
            return prebuiltBytes;
        }
        long bytes = raw == null ? 64 : plan.estimateBytes(raw) + 48;
        // record.format=envelope: the old row too (its source block is in the plan's fixed bytes).
        return before == null ? bytes : bytes + plan.estimateBytes(before);
    }

    SourceRecord record(java.util.Map<String, Object> partition) {
        if (record == null) {
            ConnectHeaders headers = new ConnectHeaders();
            headers.addString(TablePlan.OP_HEADER, kind.op);
            headers.addString(LSN_HEADER, commitLsnText);
            headers.addLong(TXID_HEADER, xid);
            if (unavailable != null) {
                headers.addString(UNAVAILABLE_HEADER, unavailable);
            }
            if (transaction != null && !plan.envelopeFormat()) {
                headers.addString(TransactionMetadata.ID_HEADER, transaction.getString("id"));
                headers.addLong(TransactionMetadata.TOTAL_ORDER_HEADER, transaction.getInt64("total_order"));
                headers.addLong(TransactionMetadata.DATA_COLLECTION_ORDER_HEADER,
                        transaction.getInt64("data_collection_order"));
            }
            java.util.Map<String, Object> sourceOffset = offset.toMap(commitLsnText, transactionMetadata, partitions);
            if (plan.envelopeFormat() && kind != Kind.TOMBSTONE) {
                record = envelopeRecord(partition, sourceOffset, headers);
                return record;
            }
            record = kind == Kind.TRUNCATE ? plan.toTableRecord(partition, sourceOffset, headers, source)
                    : kind == Kind.DELETE || kind == Kind.TOMBSTONE
                    ? plan.toChangeRecord(raw, true, partition, sourceOffset, headers)
                    // A NULL in a NOT NULL column (older than the constraint, or unavailable TOAST).
                    : plan.admittingNulls(raw).toChangeRecord(raw, false, partition, sourceOffset, headers);
        }
        return record;
    }

    /**
     * The change as Debezium's envelope. The plan admits the NULLs of both rows: a key-only old row
     * leaves every other column null, NOT NULL or not (Debezium would fill those with a type's
     * zero value; a null here does not pretend to know).
     */
    private SourceRecord envelopeRecord(java.util.Map<String, Object> partition,
                                        java.util.Map<String, Object> sourceOffset, ConnectHeaders headers) {
        if (otherKey != null) {
            plan.addKeyHeader(headers, kind == Kind.DELETE ? NEW_KEY_HEADER : OLD_KEY_HEADER, otherKey);
        }
        return switch (kind) {
            case TRUNCATE -> plan.toTableRecord(partition, sourceOffset, headers, source);
            case DELETE -> plan.admittingNulls(before).toEnvelopeRecord(before, null, Envelope.DELETE, source,
                    partition, sourceOffset, headers);
            case INSERT -> plan.admittingNulls(raw).toEnvelopeRecord(null, raw, Envelope.CREATE, source, partition,
                    sourceOffset, headers);
            case UPDATE -> {
                // A key change is, as in Debezium, a delete of the old key (sent before) and a create of the new.
                Object[] old = keyChanged ? null : before;
                TablePlan admitting = plan.admittingNulls(raw);
                if (old != null) {
                    admitting = admitting.admittingNulls(old);
                }
                yield admitting.toEnvelopeRecord(old, raw, keyChanged ? Envelope.CREATE : Envelope.UPDATE, source,
                        partition, sourceOffset, headers);
            }
            case TOMBSTONE -> throw new IllegalStateException("a tombstone has no envelope");
            case READ -> throw new IllegalStateException("a snapshot row's record is made by its chunk");
        };
    }
}

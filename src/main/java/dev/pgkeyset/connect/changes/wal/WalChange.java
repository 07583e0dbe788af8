package dev.pgkeyset.connect.changes.wal;

import org.apache.kafka.connect.header.ConnectHeaders;
import org.apache.kafka.connect.source.SourceRecord;

import dev.pgkeyset.connect.offset.WalOffset;
import dev.pgkeyset.connect.record.TablePlan;

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

    enum Kind {
        INSERT("c"), UPDATE("u"), DELETE("d"), TRUNCATE("t");

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

    boolean waitsForFetch() {
        return missing != null;
    }

    long estimateBytes() {
        return raw == null ? 64 : plan.estimateBytes(raw) + 48;
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
            java.util.Map<String, Object> sourceOffset = offset.toMap(commitLsnText);
            record = kind == Kind.TRUNCATE ? plan.toTableRecord(partition, sourceOffset, headers)
                    : kind == Kind.DELETE ? plan.toChangeRecord(raw, true, partition, sourceOffset, headers)
                    // A NULL in a NOT NULL column (older than the constraint, or unavailable TOAST).
                    : plan.admittingNulls(raw).toChangeRecord(raw, false, partition, sourceOffset, headers);
        }
        return record;
    }
}

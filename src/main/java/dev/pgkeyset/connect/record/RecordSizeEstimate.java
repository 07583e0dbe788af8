package dev.pgkeyset.connect.record;

import org.apache.kafka.connect.data.Field;

import dev.pgkeyset.connect.schema.SerializedSize;

/**
 * The size a row's record will take once a converter writes it ({@link SerializedSize}), which
 * {@code batch.max.bytes} bounds a batch by. What does not depend on the row's values (field
 * names, braces, the op header, an envelope's own fields) is counted once per plan.
 */
final class RecordSizeEstimate {

    /**
     * What an envelope adds to a record (record.format=envelope): its field names, op and times,
     * and a source block of a typical table (names, version, database, times, LSN, txId).
     */
    private static final long ENVELOPE_BYTES = 400;

    private final RowLayout layout;
    /** The bytes of every record besides its values (see {@link #estimateBytes}). */
    private final long fixedBytes;

    RecordSizeEstimate(RowLayout layout, boolean envelope) {
        this.layout = layout;
        this.fixedBytes = fixedBytes(layout) + (envelope ? ENVELOPE_BYTES : 0);
    }

    /**
     * The row's record as a converter will write it: key and value, each field's name and value;
     * the key's values count twice, since they are in both.
     */
    long estimateBytes(Object[] raw) {
        long bytes = fixedBytes;
        for (int i = 0; i < raw.length; i++) {
            bytes += raw[i] == null ? SerializedSize.NULL : layout.converter(i).estimateBytes(raw[i]);
        }
        for (int keyIndex : layout.keyIndexes()) {
            bytes += layout.converter(keyIndex).estimateBytes(raw[keyIndex]);
        }
        return bytes;
    }

    /** What every record of this plan takes besides its values: braces, field names, the op header. */
    private static long fixedBytes(RowLayout layout) {
        long bytes = 4 + SerializedSize.utf8(TablePlan.OP_HEADER) + 1;
        for (Field field : layout.valueFields()) {
            bytes += SerializedSize.utf8(field.name()) + SerializedSize.FIELD_OVERHEAD;
        }
        for (Field field : layout.keyFields()) {
            bytes += SerializedSize.utf8(field.name()) + SerializedSize.FIELD_OVERHEAD;
        }
        return bytes;
    }
}

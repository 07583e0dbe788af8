package dev.pgkeyset.connect.record;

import java.util.ArrayList;
import java.util.List;

import org.apache.kafka.connect.source.SourceRecord;

/**
 * The records of one {@code poll()}, bounded by {@code batch.max.rows} and by
 * {@code batch.max.bytes} of estimated size. A record larger than the byte bound is still
 * accepted when the batch is empty, so it goes out alone instead of blocking the table forever.
 */
public final class RecordBatch {

    private final int maxRows;
    private final long maxBytes;
    private final List<SourceRecord> records;
    private long bytes;

    public RecordBatch(int maxRows, long maxBytes) {
        this.maxRows = maxRows;
        this.maxBytes = maxBytes;
        this.records = new ArrayList<>(Math.min(maxRows, 4096));
    }

    public boolean fits(long recordBytes) {
        return records.isEmpty() || (records.size() < maxRows && bytes + recordBytes <= maxBytes);
    }

    public boolean full() {
        return records.size() >= maxRows || bytes >= maxBytes;
    }

    public void add(SourceRecord record, long recordBytes) {
        records.add(record);
        bytes += recordBytes;
    }

    /** Rows that still fit. */
    public int remainingRows() {
        return Math.max(0, maxRows - records.size());
    }

    /** Bytes that still fit. */
    public long remainingBytes() {
        return Math.max(0, maxBytes - bytes);
    }

    public boolean isEmpty() {
        return records.isEmpty();
    }

    public int size() {
        return records.size();
    }

    public List<SourceRecord> records() {
        return records;
    }
}

package dev.pgkeyset.connect.record;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

class RecordBatchTest {

    private static final SourceRecord RECORD = new SourceRecord(null, null, "t", null, null);

    @Test
    void boundsRowsAndBytes() {
        RecordBatch batch = new RecordBatch(2, 100);
        assertTrue(batch.fits(60));
        batch.add(RECORD, 60);
        assertFalse(batch.fits(41), "60 + 41 bytes exceed 100");
        assertTrue(batch.fits(40));
        batch.add(RECORD, 40);
        assertFalse(batch.fits(0), "two rows at most");
    }

    @Test
    void aRowLargerThanTheByteBoundStillGoesOutAlone() {
        RecordBatch batch = new RecordBatch(10, 100);
        assertTrue(batch.fits(5_000));
        batch.add(RECORD, 5_000);
        assertFalse(batch.fits(1));
    }
}

package dev.pgkeyset.connect.offset;

import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.kafka.connect.source.SourceRecord;

/**
 * The OID of the relation a table's snapshot read, kept in its offsets (capture.mode=wal). The
 * WAL names tables by OID; a table swapped for another by {@code RENAME}, or dropped and made
 * again, while no task read the stream keeps its name but not its OID, and the next start would
 * otherwise follow the new relation as if the topic held its rows. Compared at each start.
 */
public final class RelationOid {

    /**
     * What to do when a table turns out to be another relation than the one its topic holds
     * ({@code <table>} stands for its name): a new snapshot sends the rows there are, no
     * tombstones for those that are gone.
     */
    public static final String REMEDY = "Snapshot the table again: stop the connector, delete the table's offset "
            + "(PATCH /connectors/<name>/offsets with {\"partition\": {\"table\": \"<table>\"}, \"offset\": null}) "
            + "and the records of its topic (delete and create the topic, or have consumers take the new snapshot as "
            + "a reload: the new snapshot sends the rows there are, and no tombstones for rows that are gone), then "
            + "start it.";

    /** The offset field: the OID as a number. */
    public static final String KEY = "relation_oid";

    private RelationOid() {
    }

    /** The OID an offset names; null when it names none (an offset of an earlier version, or query mode). */
    public static Long of(Map<String, ?> offset) {
        Object value = offset == null ? null : offset.get(KEY);
        if (value == null) {
            return null;
        }
        if (value instanceof Number number && number.longValue() > 0 && number.longValue() <= 0xFFFFFFFFL) {
            return number.longValue();
        }
        throw new IllegalArgumentException("'" + KEY + "' must be the table's OID, a number from 1 to 4294967295 (or be "
                + "left out), found " + value);
    }

    /** {@code record} with {@code oid} in its offset. */
    public static SourceRecord mark(SourceRecord record, long oid) {
        Map<String, Object> offset = new LinkedHashMap<>(record.sourceOffset());
        offset.put(KEY, oid);
        return new SourceRecord(record.sourcePartition(), offset, record.topic(), record.kafkaPartition(),
                record.keySchema(), record.key(), record.valueSchema(), record.value(), record.timestamp(),
                record.headers());
    }
}

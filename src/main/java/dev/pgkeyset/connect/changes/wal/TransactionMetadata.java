package dev.pgkeyset.connect.changes.wal;

import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;

import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.record.TransactionSchemas;

/**
 * provide.transaction.metadata: numbers the events of the PostgreSQL transaction being read and
 * makes its BEGIN and END events, as Debezium's PostgreSQL connector does.
 *
 * <ul>
 * <li>Only a transaction with a captured change has them: BEGIN comes just before its first
 *     event, END after its last, with the events counted per table ({@code schema.table}, in the
 *     order the transaction first touched each).</li>
 * <li>Events are numbered from 1 ({@code total_order}, and {@code data_collection_order} per
 *     table). A delete event and the create event of a key change count one each; tombstones
 *     do not count.</li>
 * <li>The id is Debezium's {@code "<xid>:<LSN>"}, the LSN being that of the message the event
 *     came from (BEGIN's, the change's, COMMIT's), as a decimal number: so Debezium's id differs
 *     between the events of one transaction, and so does this one. Group by the part before the
 *     colon, or by the commit LSN header.</li>
 * <li>A transaction read again (after a reconnect, or a restart that passes over what was
 *     delivered) is numbered again from its start, so a re-delivered event carries the numbers it
 *     had.</li>
 * </ul>
 * Poll thread only.
 */
final class TransactionMetadata {

    static final String ID_HEADER = "pgkeyset.tx.id";
    static final String TOTAL_ORDER_HEADER = "pgkeyset.tx.total_order";
    static final String DATA_COLLECTION_ORDER_HEADER = "pgkeyset.tx.data_collection_order";

    private final String topic;

    private long xid;
    private long commitEpochMillis;
    private long beginLsn;
    private boolean begun;
    private long total;
    /** Events per table, in the order the transaction first touched them. */
    private final Map<String, Long> perTable = new LinkedHashMap<>();
    /** The table of the previous event: most transactions change one table many times in a row. */
    private TableId lastTable;
    private String lastTableName;

    TransactionMetadata(String topic) {
        this.topic = topic;
    }

    /** A Begin message: numbering starts again. */
    void transactionBegins(long xid, long commitEpochMillis, long beginMessageLsn) {
        this.xid = xid;
        this.commitEpochMillis = commitEpochMillis;
        this.beginLsn = beginMessageLsn;
        this.begun = false;
        this.total = 0;
        this.perTable.clear();
    }

    /** True once the open transaction's BEGIN was made (or passed over); the first event makes it. */
    boolean begun() {
        return begun;
    }

    /** Whether the open transaction had a captured event: only then has it a BEGIN and an END. */
    boolean anyEvent() {
        return total > 0;
    }

    /** The next event of the open transaction, of {@code table}, read from the message at {@code eventLsn}. */
    Struct nextEvent(TableId table, long eventLsn) {
        if (!table.equals(lastTable)) {
            lastTable = table;
            lastTableName = table.schema() + "." + table.table();
        }
        long inTable = perTable.merge(lastTableName, 1L, Long::sum);
        total++;
        return TransactionSchemas.block(id(eventLsn), total, inTable);
    }

    /** The BEGIN event, at {@code offset}: marks the transaction begun. */
    SourceRecord beginRecord(Map<String, ?> partition, Map<String, ?> offset) {
        begun = true;
        String id = id(beginLsn);
        return new SourceRecord(partition, offset, topic, null, TransactionSchemas.KEY, TransactionSchemas.key(id),
                TransactionSchemas.VALUE, TransactionSchemas.begin(id, commitEpochMillis));
    }

    /** The END event, at {@code offset}, of the Commit message at {@code commitMessageLsn}. */
    SourceRecord endRecord(Map<String, ?> partition, Map<String, ?> offset, long commitMessageLsn) {
        String id = id(commitMessageLsn);
        return new SourceRecord(partition, offset, topic, null, TransactionSchemas.KEY, TransactionSchemas.key(id),
                TransactionSchemas.VALUE, TransactionSchemas.end(id, commitEpochMillis, perTable));
    }

    private String id(long lsn) {
        return xid + ":" + Long.toUnsignedString(lsn);
    }
}

package dev.pgkeyset.connect.changes.wal;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.source.TransactionContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.config.TruncateHandling;
import dev.pgkeyset.connect.offset.WalOffset;
import dev.pgkeyset.connect.pg.ConnectionFactory;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.record.RecordBatch;
import dev.pgkeyset.connect.record.TablePlan;
import dev.pgkeyset.connect.record.WalSource;
import dev.pgkeyset.connect.snapshot.SnapshotChunk;

/**
 * Turns the decoded pgoutput stream into change records, in WAL order: transactions, relations,
 * logical messages (snapshot watermarks, partition changes) here; row messages in
 * {@link RowChangeMessages}, which queues their records through {@link #emit}.
 *
 * <ul>
 * <li>Each record's offset is (commit LSN, index of the record in its transaction); whatever the
 *     committed offset covers is passed over (the slot re-sends transactions it was not told
 *     were processed), and so is whatever this reader produced already before a reconnect.</li>
 * <li>The last record of each transaction is held back until its Commit arrives, so it is known
 *     where a Kafka transaction may end ({@link TransactionContext#commitTransaction(SourceRecord)}
 *     when the worker lets the connector define transaction boundaries).</li>
 * <li>Unchanged TOAST values are fetched by key, once per table per batch ({@link ToastFetch}), as the
 *     changes ready to go are handed over ({@link ReadyChanges}).</li>
 * <li>{@link #acknowledged} counts Kafka Connect's acknowledgements per transaction
 *     ({@link TransactionAcks}); {@link #confirmablePosition} is what the slot may be told.</li>
 * </ul>
 * The reader is used on the poll thread only, except {@link #acknowledged}.
 */
public final class WalChangeReader {

    private static final Logger log = LoggerFactory.getLogger(WalChangeReader.class);

    /** How long one call may read the stream before handing over what it has. */
    private static final long READ_BUDGET_NANOS = 200_000_000L;

    private final RelationPlans plans;
    /** Turns the Insert, Update, Delete and Truncate messages into change records, through {@link #emit}. */
    private final RowChangeMessages rows;
    private final ConnectionFactory connections;
    private final Map<String, Object> partition;
    private final TransactionAcks acks = new TransactionAcks();
    private final WalStats stats;
    /** Everything at or before it was produced already (committed before the start, or in this run). */
    private WalOffset producedThrough;

    /** Records ready to go, in order; the first ones may still wait for a TOAST fetch. */
    private final ReadyChanges ready;
    /** The latest record of the open transaction, held back until the next one or the Commit. */
    private WalChange held;

    private boolean inTransaction;
    private long commitLsn;
    /** {@link #commitLsn} as text, shared by the offsets and headers of the transaction's records. */
    private String commitLsnText;
    private long xid;
    private long commitTimeMicros;
    /** The WAL position of the message being handled (a change's own LSN: the envelope's source.lsn). */
    private long messageLsn;
    /** Microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01. */
    private static final long PG_EPOCH_MICROS = 946_684_800_000_000L;
    /**
     * Index of the next change message (insert, update, delete, truncated table) in the open
     * transaction, counting every table the slot sends, captured or not: a transaction re-sent
     * after a restart that captures fewer tables (or after a table was dropped) is then numbered
     * as it was, so the committed offset still points at the same change.
     */
    private long nextChange;
    /** The snapshot read in chunks beside the stream, told what the stream changes; null when none runs. */
    private SnapshotBesideStream snapshot;
    /** Partition maintenance of captured partitioned tables, acted on in stream order; null when none is captured. */
    private PartitionWatch partitionWatch;
    /** provide.transaction.metadata: BEGIN and END events and each change's place; null when off. */
    private final TransactionMetadata transactionMetadata;
    /**
     * The commit LSN of the committed offset when it was made without provide.transaction.metadata
     * (the feature was off then); null otherwise. The transaction it points into had no BEGIN sent,
     * so it gets no END: a lone END would tell a consumer of a transaction it never saw begin.
     */
    private final Long committedWithoutTransactionMetadata;

    /**
     * @param committed        the offset Kafka Connect committed for the slot's partition; null for none
     * @param committedMarked  whether that offset was made with provide.transaction.metadata
     * @param transactionTopic where BEGIN and END events go (provide.transaction.metadata); null for none
     */
    public WalChangeReader(Map<TableId, TablePlan> captured, ConnectionFactory connections,
                           TruncateHandling truncateHandling, String slot, WalOffset committed,
                           boolean committedMarked, WalStats stats, String transactionTopic) {
        this.plans = new RelationPlans(captured);
        this.rows = new RowChangeMessages(plans, stats, truncateHandling, this);
        this.connections = connections;
        this.ready = new ReadyChanges(connections);
        this.partition = WalOffset.partition(slot);
        this.producedThrough = committed;
        this.stats = stats;
        this.transactionMetadata = transactionTopic == null ? null : new TransactionMetadata(transactionTopic);
        this.committedWithoutTransactionMetadata = committed != null && !committedMarked ? committed.commitLsn() : null;
    }

    /** The tables this run snapshots from the start (see {@link RelationPlans#snapshottedFromTheStart}). */
    public void snapshottedFromTheStart(java.util.Set<TableId> tables) throws java.sql.SQLException {
        try (java.sql.Connection connection = connections.open();
             java.sql.Statement st = connection.createStatement();
             java.sql.ResultSet rs = st.executeQuery("SELECT (CASE WHEN pg_catalog.pg_is_in_recovery() THEN "
                     + "pg_catalog.pg_last_wal_replay_lsn() ELSE pg_catalog.pg_current_wal_lsn() END)::text")) {
            rs.next();
            plans.snapshottedFromTheStart(tables, Lsn.parse(rs.getString(1)));
            connection.rollback();
        }
    }

    /** Acts on the partition changes the stream delivers (see {@link PartitionWatch}); null for none. */
    public void watchPartitions(PartitionWatch watch) {
        this.partitionWatch = watch;
    }

    /** From now on, tells {@code snapshot} what the stream changes and hands over its chunks at their watermarks. */
    public void interleave(SnapshotBesideStream snapshot) {
        this.snapshot = snapshot;
    }

    public Map<String, Object> partition() {
        return partition;
    }

    /**
     * Reads the stream into the batch until the batch is full, the stream has nothing more now,
     * or a short time budget is spent.
     *
     * @param transactions null unless the worker lets the connector define transaction boundaries
     * @throws SQLException from the stream or a catalog/TOAST query; the reader stays consistent
     *                      and may go on with a new stream ({@link #streamRestarted})
     */
    public void readInto(RecordBatch batch, WalStream stream, TransactionContext transactions) throws SQLException {
        long deadline = System.nanoTime() + READ_BUDGET_NANOS;
        int room = Math.max(1, batch.remainingRows());
        while (ready.size() < room && ready.bytes() < batch.remainingBytes() && System.nanoTime() < deadline) {
            PgOutputMessage message = stream.read();
            if (message == null) {
                break;
            }
            messageLsn = stream.lastMessageLsn();
            handle(message);
        }
        ready.drainInto(batch, transactions, partition);
    }

    private void handle(PgOutputMessage message) throws SQLException {
        if (message instanceof PgOutputMessage.Begin begin) {
            inTransaction = true;
            commitLsn = begin.finalLsn();
            commitLsnText = WalOffset.formatLsn(commitLsn);
            xid = begin.xid();
            commitTimeMicros = begin.commitTimeMicros();
            nextChange = 0;
            acks.begin(commitLsn);
            if (transactionMetadata != null) {
                transactionMetadata.transactionBegins(xid, Math.floorDiv(commitTimeMicros + PG_EPOCH_MICROS, 1000L),
                        messageLsn);
            }
            if (snapshot != null) {
                snapshot.transactionBegins(xid);
            }
        } else if (message instanceof PgOutputMessage.Commit commit) {
            // Only this transaction's own held record ends it. After a reconnect inside a large
            // transaction, the slot first re-sends earlier unconfirmed ones (all passed over):
            // their Commit must not end a Kafka transaction in the middle of the held one's.
            if (transactionMetadata != null && transactionMetadata.anyEvent() && !begunBeforeTheFeatureWasOn()) {
                endTransactionEvent(commit);
            } else if (held != null && held.offset.commitLsn() == commit.commitLsn()) {
                held.lastOfTransaction = true;
                ready.add(held);
                held = null;
            }
            acks.ended(commit.commitLsn(), commit.endLsn());
            inTransaction = false;
            stats.committed(commit.commitTimeMicros());
        } else if (message instanceof PgOutputMessage.Relation relation) {
            try (Connection connection = connections.open()) {
                plans.onRelation(relation, connection, commitLsn);
            }
        } else if (message instanceof PgOutputMessage.Insert insert) {
            rows.onInsert(insert);
        } else if (message instanceof PgOutputMessage.Update update) {
            rows.onUpdate(update);
        } else if (message instanceof PgOutputMessage.Delete delete) {
            rows.onDelete(delete);
        } else if (message instanceof PgOutputMessage.Truncate truncate) {
            rows.onTruncate(truncate);
        } else if (message instanceof PgOutputMessage.LogicalMessage logical && partitionWatch != null
                && PartitionWatch.isMarker(logical)) {
            if (!passedByTheCommittedOffset()) {
                partitionWatch.onMarker(logical, commitLsn);
            }
        } else if (message instanceof PgOutputMessage.LogicalMessage logical && snapshot != null) {
            SnapshotBesideStream.Handover chunk = snapshot.watermark(logical);
            if (chunk != null) {
                addSnapshotRows(chunk);
            }
        }
        // Type: resolved by OID from the catalog when a Relation names it. LogicalMessage: our own
        // heartbeats (and anyone else's messages), nothing to deliver. Origin: changes replicated
        // from elsewhere are captured like any other.
    }

    /**
     * Whether the open transaction comes before a record already produced (the committed offset,
     * after a restart): the slot re-sends from its confirmed position, which may be behind. A
     * partition message there was acted on by the run that produced that record (a copy it
     * started is in that record's offset), so it is not acted on again. A transaction the
     * stream delivers for the first time always comes after every record produced.
     */
    private boolean passedByTheCommittedOffset() {
        return producedThrough != null && Long.compareUnsigned(commitLsn, producedThrough.commitLsn()) < 0;
    }

    /** Queues a change record at {@code event} of the open transaction; null when produced already. */
    WalChange emit(TablePlan plan, Object[] raw, WalChange.Kind kind, int[] missing, long event) {
        return emit(plan, raw, kind, missing, new WalOffset(commitLsn, event));
    }

    /** Queues a change record; null when its offset was produced already (it is passed over). */
    WalChange emit(TablePlan plan, Object[] raw, WalChange.Kind kind, int[] missing, WalOffset offset) {
        if (snapshot != null) {
            // Before the check below: a change delivered before still makes an older chunk row stale.
            if (raw == null) {
                snapshot.tableTruncated(plan, xid);
            } else {
                snapshot.rowChanged(plan, raw, xid);
            }
        }
        Struct transaction = null;
        if (transactionMetadata != null && kind != WalChange.Kind.TOMBSTONE) {
            if (!transactionMetadata.begun()) {
                beginTransactionEvent();
            }
            // Numbered whether delivered already or not, so a re-delivered event has its numbers.
            transaction = transactionMetadata.nextEvent(plan.id(), messageLsn);
        }
        if (!produce(offset)) {
            return null;
        }
        held = new WalChange(plan, raw, kind, offset, commitLsnText, xid, missing);
        held.transaction = transaction;
        held.transactionMetadata = transactionMetadata != null;
        held.partitions = partitionWatch == null ? null : partitionWatch.fingerprint();
        if (plan.envelopeFormat()) {
            held.source = new WalSource(commitTimeMicros + PG_EPOCH_MICROS, xid, messageLsn, transaction);
        }
        return held;
    }

    private String partitionsNow() {
        return partitionWatch == null ? null : partitionWatch.fingerprint();
    }

    /**
     * Whether the open transaction is the one the committed offset points into, and that offset
     * was made with provide.transaction.metadata off: its BEGIN was never sent (it is covered by
     * the offset), so its END is not sent either.
     */
    private boolean begunBeforeTheFeatureWasOn() {
        if (committedWithoutTransactionMetadata == null || committedWithoutTransactionMetadata != commitLsn) {
            return false;
        }
        if (!WalOffset.endOf(commitLsn, nextChange).coveredBy(producedThrough)) {
            log.info("Transaction {} (commit LSN {}) was partly delivered before provide.transaction.metadata was on: "
                    + "no BEGIN was sent for it, so no END is sent either", xid, commitLsnText);
        }
        return true;
    }

    /** The open transaction's BEGIN event, before its first change: queued unless delivered already. */
    private void beginTransactionEvent() {
        WalOffset offset = WalOffset.beginOf(commitLsn);
        SourceRecord record = transactionMetadata.beginRecord(partition, offset.toMap(commitLsnText, true, partitionsNow()));
        if (produce(offset)) {
            held = WalChange.transactionEvent(record, offset);
        }
    }

    /**
     * The END event of a transaction with captured changes, after all of them: the last record of
     * the transaction (a Kafka transaction may end after it), unless delivered already.
     */
    private void endTransactionEvent(PgOutputMessage.Commit commit) {
        WalOffset offset = WalOffset.endOf(commitLsn, nextChange);
        if (!produce(offset)) {
            return;
        }
        held = null;
        WalChange end = WalChange.transactionEvent(
                transactionMetadata.endRecord(partition, offset.toMap(commitLsnText, true, partitionsNow()), messageLsn), offset);
        end.lastOfTransaction = true;
        ready.add(end);
    }

    /**
     * A record of the open transaction is about to be made at {@code offset}: false when it was
     * produced already (it is passed over); otherwise it is counted for the slot's confirmation
     * and the record held before it is ready to go (the new one takes its place).
     */
    private boolean produce(WalOffset offset) {
        if (offset.coveredBy(producedThrough)) {
            return false;
        }
        producedThrough = offset;
        acks.recordCreated(commitLsn);
        if (held != null) {
            ready.add(held);
        }
        return true;
    }

    /**
     * A chunk's rows join the stream at its watermark, which is the only message of the chunk's own
     * transaction: every record before it was handed over or is ready, none is held.
     *
     * <p>The rows of a leaf partition's copy take the stream's place as well as its order: the
     * slot's partition, at the watermark's commit LSN, event {@code 2 × i} (the chunk's transaction
     * has no change of its own), and the partitions the offsets say are still being copied. So the
     * copy is ordered with the stream in Kafka Connect's offsets too: an offset that says a leaf is
     * copied is committed only after every row of the copy was; until then a restart copies the
     * leaf again ({@link PartitionWatch}).
     */
    private void addSnapshotRows(SnapshotBesideStream.Handover chunk) {
        if (held != null) {
            throw new IllegalStateException("a snapshot chunk's watermark inside a transaction with changes ("
                    + held.offset + ")");
        }
        List<SnapshotChunk.Out> rows = chunk.rows();
        if (rows.isEmpty() && chunk.leafCopied() != null) {
            chunk.leafCopied().run();
        }
        for (int i = 0; i < rows.size(); i++) {
            SnapshotChunk.Out out = rows.get(i);
            boolean last = i == rows.size() - 1;
            WalChange row;
            if (out.ofLeafCopy()) {
                if (last && chunk.leafCopied() != null) {
                    chunk.leafCopied().run();
                }
                WalOffset offset = new WalOffset(commitLsn, 2L * i);
                if (!produce(offset)) {
                    continue;
                }
                SourceRecord read = out.record();
                SourceRecord record = new SourceRecord(partition, offset.toMap(commitLsnText,
                        transactionMetadata != null, partitionsNow()), read.topic(), read.kafkaPartition(),
                        read.keySchema(), read.key(), read.valueSchema(), read.value(), read.timestamp(),
                        read.headers());
                row = WalChange.snapshotRow(record, out.bytes());
            } else {
                row = WalChange.snapshotRow(out.record(), out.bytes());
            }
            // A Kafka transaction may end after the chunk: it is between two PostgreSQL transactions.
            row.lastOfTransaction = last;
            ready.add(row);
        }
    }

    /**
     * The stream failed and a new one will be read: the slot re-sends from its confirmed
     * position, and what was produced already is passed over by its offset. The open
     * transaction's held record stays held until that transaction's Commit comes again.
     */
    public void streamRestarted() {
        inTransaction = false;
        if (snapshot != null) {
            snapshot.streamRestarted();
        }
    }

    /** Kafka Connect acknowledged one of this reader's records (or dropped it). Any thread. */
    public void acknowledged(SourceRecord record) {
        Object lsn = record.sourceOffset() == null ? null : record.sourceOffset().get(WalOffset.COMMIT_LSN);
        if (lsn instanceof String text) {
            acks.acknowledged(Lsn.parse(text));
        }
    }

    /**
     * What the slot may be told is processed: the end of the latest fully acknowledged
     * transaction, or, while between transactions with nothing outstanding, everything the
     * server has sent ({@code receivedLsn}: its keepalives move it while nothing captured changes).
     */
    public long confirmablePosition(long receivedLsn) {
        long confirmable = acks.confirmable();
        if (idle() && Long.compareUnsigned(receivedLsn, confirmable) > 0) {
            confirmable = receivedLsn;
        }
        long hold = partitionWatch == null ? PartitionWatch.NO_HOLD : partitionWatch.confirmationHold();
        if (hold != PartitionWatch.NO_HOLD && Long.compareUnsigned(confirmable, hold) > 0) {
            // A copy of a partition runs that only the partition message at that position asked for.
            return hold;
        }
        return confirmable;
    }

    /** Between transactions, nothing waiting to be handed over and nothing unacknowledged. */
    public boolean idle() {
        return !inTransaction && held == null && ready.isEmpty() && acks.settled();
    }

    /** Records waiting to be handed over (the next poll goes on with them before reading more). */
    public boolean hasReady() {
        return !ready.isEmpty();
    }

    public long outstanding() {
        return acks.outstanding();
    }

    /** The commit time of the transaction being read, microseconds since 2000-01-01. */
    long commitTimeMicros() {
        return commitTimeMicros;
    }

    /** The id of the transaction being read. */
    long xid() {
        return xid;
    }

    /** The commit LSN of the transaction being read. */
    long commitLsn() {
        return commitLsn;
    }

    /**
     * The index of the next change message (insert, update, delete, truncated table) in the open
     * transaction, taken by that message; see {@link #nextChange}.
     */
    long takeChangeIndex() {
        return nextChange++;
    }

    /** Partition maintenance of captured partitioned tables; null when none is captured. */
    PartitionWatch partitionWatch() {
        return partitionWatch;
    }
}

package dev.pgkeyset.connect.changes.wal;

import java.util.List;

import org.apache.kafka.connect.errors.ConnectException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.config.TruncateHandling;
import dev.pgkeyset.connect.offset.WalOffset;
import dev.pgkeyset.connect.record.TablePlan;

/**
 * The row messages of pgoutput (Insert, Update, Delete, Truncate) as change records of the
 * captured tables, queued through {@link WalChangeReader#emit} at their place in the open
 * transaction: an update that changes the key becomes the old key's delete (and, in
 * record.format=envelope, its tombstone) then the new row; a delete needs its key in the old
 * tuple; a truncate follows truncate.handling. Messages of tables not captured still take their
 * index, so a transaction re-sent with fewer tables is numbered as before.
 */
final class RowChangeMessages {

    private static final Logger log = LoggerFactory.getLogger(RowChangeMessages.class);

    private final RelationPlans plans;
    private final WalStats stats;
    private final TruncateHandling truncateHandling;
    private final WalChangeReader reader;

    RowChangeMessages(RelationPlans plans, WalStats stats, TruncateHandling truncateHandling, WalChangeReader reader) {
        this.plans = plans;
        this.stats = stats;
        this.truncateHandling = truncateHandling;
        this.reader = reader;
    }

    void onInsert(PgOutputMessage.Insert insert) {
        long change = reader.takeChangeIndex();
        TablePlan plan = plans.plan(insert.relationOid());
        stats.decoded();
        if (plan == null) {
            return;
        }
        TupleValues.Values values = TupleValues.of(plan, plans.layout(insert.relationOid()), insert.newTuple(), null);
        reader.emit(plan, values.raw(), WalChange.Kind.INSERT, values.missing(), event(change, 0));
    }

    void onUpdate(PgOutputMessage.Update update) {
        long change = reader.takeChangeIndex();
        TablePlan plan = plans.plan(update.relationOid());
        stats.decoded();
        if (plan == null) {
            return;
        }
        plans.checkIdentityForUpdateOrDelete(update.relationOid());
        PgOutputMessage.TupleData old = update.oldTuple();
        RelationPlans.Layout layout = plans.layout(update.relationOid());
        boolean keyChanged = false;
        Object[] oldKeyRaw = null;
        TupleValues.Values values = TupleValues.of(plan, layout, update.newTuple(), update.oldKind() == 'O' ? old : null);
        if (old != null) {
            Object[] oldRaw = TupleValues.keyOnly(plan, layout, old);
            values = TupleValues.withUnchangedKeyFrom(plan, values, oldRaw);
            List<Object> oldKey = plan.keyValues(oldRaw);
            if (oldKey == null) {
                throw IdentityGuard.keyMissing(plan, "UPDATE", reader.xid());
            }
            if (!oldKey.equals(plan.keyValues(values.raw()))) {
                keyChanged = true;
                oldKeyRaw = oldRaw;
                // The key changed: a tombstone first, so a compacted topic does not keep the old key alive
                // (in record.format=envelope: a delete event of the old key, then its tombstone).
                WalChange deleted = reader.emit(plan, oldRaw, WalChange.Kind.DELETE, null, event(change, 0));
                if (plan.envelopeFormat()) {
                    Object[] before = update.oldKind() == 'O' ? TupleValues.wholeOldRow(plan, layout, old) : oldRaw;
                    if (deleted != null) {
                        deleted.otherKey = values.raw();
                    }
                    afterDelete(plan, deleted, before, oldRaw, event(change, 0));
                }
            }
        }
        if (!plan.hasKeyValues(values.raw())) {
            // Only an out-of-line key left unchanged without its old key logged comes here.
            throw new ConnectException("Table " + plan.id() + ": an UPDATE (transaction " + reader.xid()
                    + ") came without its key's value (stored out of line and not in the WAL); set ALTER TABLE "
                    + plan.id().quoted()
                    + " REPLICA IDENTITY FULL so the old row carries it");
        }
        WalChange updated = reader.emit(plan, values.raw(), WalChange.Kind.UPDATE, values.missing(), event(change, 1));
        if (updated != null && plan.envelopeFormat()) {
            updated.keyChanged = keyChanged;
            updated.otherKey = oldKeyRaw;
            // As Debezium: the old row only where the WAL has it whole (REPLICA IDENTITY FULL).
            updated.before = update.oldKind() == 'O' && !keyChanged ? TupleValues.wholeOldRow(plan, layout, old) : null;
        }
    }

    /**
     * record.format=envelope: the delete event {@code deleted} (null when delivered already) gets
     * its old row, and its tombstone follows when tombstones.on.delete is set.
     */
    private void afterDelete(TablePlan plan, WalChange deleted, Object[] before, Object[] oldKey, long event) {
        if (deleted != null) {
            deleted.before = before;
        }
        if (plan.tombstonesAfterDeletes()) {
            reader.emit(plan, oldKey, WalChange.Kind.TOMBSTONE, null, new WalOffset(reader.commitLsn(), event).next());
        }
    }

    void onDelete(PgOutputMessage.Delete delete) {
        long change = reader.takeChangeIndex();
        TablePlan plan = plans.plan(delete.relationOid());
        stats.decoded();
        if (plan == null) {
            return;
        }
        plans.checkIdentityForUpdateOrDelete(delete.relationOid());
        if (delete.oldTuple() == null) {
            throw new ConnectException("A DELETE of table " + plan.id() + " came without its key (REPLICA IDENTITY "
                    + "NOTHING?): run ALTER TABLE " + plan.id().quoted() + " REPLICA IDENTITY DEFAULT (or FULL)");
        }
        RelationPlans.Layout layout = plans.layout(delete.relationOid());
        Object[] oldRaw = TupleValues.keyOnly(plan, layout, delete.oldTuple());
        if (plan.keyValues(oldRaw) == null) {
            throw IdentityGuard.keyMissing(plan, "DELETE", reader.xid());
        }
        WalChange deleted = reader.emit(plan, oldRaw, WalChange.Kind.DELETE, null, event(change, 0));
        if (plan.envelopeFormat()) {
            Object[] before = delete.oldKind() == 'O' ? TupleValues.wholeOldRow(plan, layout, delete.oldTuple()) : oldRaw;
            afterDelete(plan, deleted, before, oldRaw, event(change, 0));
        }
    }

    void onTruncate(PgOutputMessage.Truncate truncate) {
        for (int oid : truncate.relationOids()) {
            long change = reader.takeChangeIndex();
            TablePlan plan = plans.plan(oid);
            stats.decoded();
            if (plan == null) {
                continue;
            }
            PartitionWatch watch = reader.partitionWatch();
            if (watch != null) {
                watch.tableTruncatedInStream(plan.id(), reader.xid());
            }
            switch (truncateHandling) {
                case EVENT -> reader.emit(plan, null, WalChange.Kind.TRUNCATE, null, event(change, 0));
                case SKIP -> log.warn("Table {} was truncated (transaction {}, commit LSN {}); not sent "
                        + "(truncate.handling=skip): its topic still holds the rows", plan.id(), reader.xid(),
                        WalOffset.formatLsn(reader.commitLsn()));
                case FAIL -> throw new ConnectException("Table " + plan.id() + " was truncated (transaction "
                        + reader.xid() + ", commit LSN " + WalOffset.formatLsn(reader.commitLsn())
                        + ") and truncate.handling=fail. "
                        + "Set truncate.handling=event (a record with pgkeyset.op=t) or skip to go on, then restart "
                        + "the task; nothing after the truncate was delivered.");
            }
        }
    }

    /**
     * A record's position in its transaction: two per change, because an update that changes the
     * key becomes two records (the old key's tombstone, part 0, then the row, part 1), and a crash
     * between them must not skip the second. Every update's row is part 1 (with or without
     * that tombstone); inserts, deletes and truncates use part 0.
     */
    private static long event(long change, int part) {
        return 2 * change + part;
    }
}

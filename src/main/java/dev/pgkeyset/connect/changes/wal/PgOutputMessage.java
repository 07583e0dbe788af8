package dev.pgkeyset.connect.changes.wal;

import java.util.List;

/**
 * One message of PostgreSQL's logical replication protocol as the built-in {@code pgoutput}
 * plugin writes it (protocol version 1, text format), decoded. LSNs are unsigned 64-bit WAL
 * positions held in a {@code long}; timestamps are microseconds since 2000-01-01 UTC, as sent.
 *
 * <p>See PostgreSQL's "Logical Replication Message Formats". Within a transaction the order is:
 * Begin, then any Relation/Type messages describing a table before its first change in this
 * session, then Insert/Update/Delete/Truncate, then Commit. Transactions arrive in commit order.
 */
public sealed interface PgOutputMessage {

    /** Starts a transaction; {@code finalLsn} is the LSN of its commit record (= {@link Commit#commitLsn()}). */
    record Begin(long finalLsn, long commitTimeMicros, long xid) implements PgOutputMessage {
    }

    /**
     * Ends a transaction. {@code endLsn} is the position just after its commit record: confirming
     * it to the slot means this transaction is never sent again.
     */
    record Commit(long commitLsn, long endLsn, long commitTimeMicros) implements PgOutputMessage {
    }

    /**
     * Describes a table's columns, sent before the first change of a table in a session and
     * again after its columns change. {@code replicaIdentity} is {@code d} (default: primary
     * key), {@code n} (nothing), {@code f} (full) or {@code i} (an index).
     */
    record Relation(int oid, String schema, String table, char replicaIdentity, List<RelationColumn> columns)
            implements PgOutputMessage {
    }

    /** @param key true when the column is part of the replica identity */
    record RelationColumn(String name, int typeOid, int typmod, boolean key) {
    }

    /** Names a non-built-in type used by a following Relation. */
    record Type(int oid, String schema, String name) implements PgOutputMessage {
    }

    record Insert(int relationOid, TupleData newTuple) implements PgOutputMessage {
    }

    /**
     * @param oldKind  {@code 'K'} (old key columns only, when the key changed), {@code 'O'} (whole
     *                 old row, REPLICA IDENTITY FULL) or {@code 0} when no old tuple was sent
     * @param oldTuple null when {@code oldKind} is 0
     */
    record Update(int relationOid, char oldKind, TupleData oldTuple, TupleData newTuple) implements PgOutputMessage {
    }

    /** @param oldKind {@code 'K'} (key columns only; the others are null) or {@code 'O'} (the whole row) */
    record Delete(int relationOid, char oldKind, TupleData oldTuple) implements PgOutputMessage {
    }

    record Truncate(List<Integer> relationOids, boolean cascade, boolean restartIdentity) implements PgOutputMessage {
    }

    /** A message written with {@code pg_logical_emit_message} (sent only when asked for with {@code messages}). */
    record LogicalMessage(boolean transactional, long lsn, String prefix, byte[] content) implements PgOutputMessage {
    }

    /** The replication origin of the following transaction's changes (replicated from elsewhere). */
    record Origin(long lsn, String name) implements PgOutputMessage {
    }

    /**
     * One row's columns in the relation's order. Each column is {@code 'n'} (NULL), {@code 'u'}
     * (an unchanged out-of-line TOAST value, not sent), {@code 't'} (text form, in {@code texts})
     * or {@code 'b'} (binary form; never requested by this connector).
     */
    record TupleData(char[] kinds, String[] texts) {

        public static final char NULL = 'n';
        public static final char UNCHANGED_TOAST = 'u';
        public static final char TEXT = 't';

        public int size() {
            return kinds.length;
        }
    }
}

package dev.pgkeyset.connect.changes.wal;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import dev.pgkeyset.connect.changes.wal.PgOutputMessage.Begin;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.Commit;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.Delete;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.Insert;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.LogicalMessage;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.Origin;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.Relation;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.RelationColumn;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.Truncate;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.TupleData;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.Type;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.Update;

/**
 * Decodes one pgoutput message (the payload of one XLogData, protocol version 1) into a
 * {@link PgOutputMessage}. Integers are big-endian (the buffer's default order), strings are
 * NUL-terminated in the server's encoding, which is UTF-8 on the connector's connections
 * (pgjdbc pins {@code client_encoding=UTF8}, and the walsender converts to it).
 *
 * <p>Object ids are unsigned 32-bit values kept in an {@code int} (an oid above 2^31 reads
 * negative; it is only ever compared), transaction ids are widened to an unsigned {@code long}.
 * A message this decoder does not know (protocol 2+ streaming, 2PC) is a bug in how the stream
 * was started, not data to skip: it fails loudly.
 */
public final class PgOutputDecoder {

    /** Truncate option bits (pgoutput's {@code TRUNCATE_CASCADE}, {@code TRUNCATE_RESTART_SEQS}). */
    private static final int TRUNCATE_CASCADE = 1;
    private static final int TRUNCATE_RESTART_IDENTITY = 2;
    /** Relation column flag: part of the replica identity. */
    private static final int COLUMN_KEY = 1;
    /** Message flag: written inside a transaction. */
    private static final int MESSAGE_TRANSACTIONAL = 1;

    private PgOutputDecoder() {
    }

    /**
     * Decodes {@code payload} from its position to its limit; the buffer's position is consumed.
     *
     * @throws IllegalArgumentException when the bytes are not a complete protocol-1 message
     */
    public static PgOutputMessage decode(ByteBuffer payload) {
        if (!payload.hasRemaining()) {
            throw new IllegalArgumentException("empty pgoutput message");
        }
        char kind = (char) payload.get();
        try {
            PgOutputMessage message = switch (kind) {
                case 'B' -> new Begin(payload.getLong(), payload.getLong(), Integer.toUnsignedLong(payload.getInt()));
                case 'C' -> commit(payload);
                case 'O' -> new Origin(payload.getLong(), string(payload));
                case 'R' -> relation(payload);
                case 'Y' -> new Type(payload.getInt(), schema(string(payload)), string(payload));
                case 'I' -> insert(payload);
                case 'U' -> update(payload);
                case 'D' -> delete(payload);
                case 'T' -> truncate(payload);
                case 'M' -> message(payload);
                default -> throw new IllegalArgumentException("pgoutput message of unknown type '" + kind
                        + "' (0x" + Integer.toHexString(kind) + "): the stream must be started with proto_version 1");
            };
            if (payload.hasRemaining()) {
                throw new IllegalArgumentException(payload.remaining() + " bytes left over after a '" + kind + "' message");
            }
            return message;
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("pgoutput '" + kind + "' message ends early", e);
        }
    }

    private static Commit commit(ByteBuffer in) {
        in.get(); // flags: unused, always 0
        return new Commit(in.getLong(), in.getLong(), in.getLong());
    }

    private static Relation relation(ByteBuffer in) {
        int oid = in.getInt();
        String schema = string(in);
        String table = string(in);
        char replicaIdentity = (char) in.get();
        int count = Short.toUnsignedInt(in.getShort());
        List<RelationColumn> columns = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            boolean key = (in.get() & COLUMN_KEY) != 0;
            String name = string(in);
            columns.add(new RelationColumn(name, in.getInt(), in.getInt(), key));
        }
        return new Relation(oid, schema(schema), table, replicaIdentity, List.copyOf(columns));
    }

    private static Insert insert(ByteBuffer in) {
        int oid = in.getInt();
        expect(in, 'N', "Insert");
        return new Insert(oid, tuple(in));
    }

    private static Update update(ByteBuffer in) {
        int oid = in.getInt();
        char next = (char) in.get();
        char oldKind = 0;
        TupleData oldTuple = null;
        if (next == 'K' || next == 'O') {
            oldKind = next;
            oldTuple = tuple(in);
            next = (char) in.get();
        }
        if (next != 'N') {
            throw new IllegalArgumentException("pgoutput Update: expected 'N' before the new tuple, got '" + next + "'");
        }
        return new Update(oid, oldKind, oldTuple, tuple(in));
    }

    private static Delete delete(ByteBuffer in) {
        int oid = in.getInt();
        char oldKind = (char) in.get();
        if (oldKind != 'K' && oldKind != 'O') {
            throw new IllegalArgumentException("pgoutput Delete: expected 'K' or 'O', got '" + oldKind + "'");
        }
        return new Delete(oid, oldKind, tuple(in));
    }

    private static Truncate truncate(ByteBuffer in) {
        int count = in.getInt();
        int options = in.get();
        List<Integer> oids = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            oids.add(in.getInt());
        }
        return new Truncate(List.copyOf(oids), (options & TRUNCATE_CASCADE) != 0,
                (options & TRUNCATE_RESTART_IDENTITY) != 0);
    }

    private static LogicalMessage message(ByteBuffer in) {
        boolean transactional = (in.get() & MESSAGE_TRANSACTIONAL) != 0;
        long lsn = in.getLong();
        String prefix = string(in);
        byte[] content = new byte[in.getInt()];
        in.get(content);
        return new LogicalMessage(transactional, lsn, prefix, content);
    }

    private static TupleData tuple(ByteBuffer in) {
        int count = Short.toUnsignedInt(in.getShort());
        char[] kinds = new char[count];
        String[] texts = new String[count];
        for (int i = 0; i < count; i++) {
            char kind = (char) in.get();
            kinds[i] = kind;
            switch (kind) {
                case TupleData.NULL, TupleData.UNCHANGED_TOAST -> {
                }
                case TupleData.TEXT -> texts[i] = utf8(in, in.getInt());
                case 'b' -> throw new IllegalArgumentException("pgoutput sent column " + (i + 1)
                        + " in binary form; the stream must be started without the 'binary' option");
                default -> throw new IllegalArgumentException("pgoutput tuple column " + (i + 1)
                        + " of unknown kind '" + kind + "'");
            }
        }
        return new TupleData(kinds, texts);
    }

    /** pgoutput writes the namespace {@code pg_catalog} as an empty string. */
    private static String schema(String namespace) {
        return namespace.isEmpty() ? "pg_catalog" : namespace;
    }

    private static void expect(ByteBuffer in, char wanted, String message) {
        char got = (char) in.get();
        if (got != wanted) {
            throw new IllegalArgumentException("pgoutput " + message + ": expected '" + wanted + "', got '" + got + "'");
        }
    }

    /** A NUL-terminated string; the position ends after the NUL. */
    private static String string(ByteBuffer in) {
        int start = in.position();
        int end = start;
        while (end < in.limit() && in.get(end) != 0) {
            end++;
        }
        if (end == in.limit()) {
            throw new IllegalArgumentException("pgoutput string not terminated");
        }
        String value = utf8(in, end - start);
        in.get(); // the NUL
        return value;
    }

    private static String utf8(ByteBuffer in, int length) {
        if (length < 0 || length > in.remaining()) {
            throw new BufferUnderflowException();
        }
        String value;
        if (in.hasArray()) {
            value = new String(in.array(), in.arrayOffset() + in.position(), length, StandardCharsets.UTF_8);
        } else {
            byte[] bytes = new byte[length];
            in.get(in.position(), bytes);
            value = new String(bytes, StandardCharsets.UTF_8);
        }
        in.position(in.position() + length);
        return value;
    }
}

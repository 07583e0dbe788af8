package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;

import org.junit.jupiter.api.Test;

/** Malformed input fails with a message saying what is wrong (real messages: {@code PgOutputDecoderIT}). */
class PgOutputDecoderTest {

    private static String failure(int... values) {
        byte[] bytes = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            bytes[i] = (byte) values[i];
        }
        return assertThrows(IllegalArgumentException.class, () -> PgOutputDecoder.decode(ByteBuffer.wrap(bytes)))
                .getMessage();
    }

    @Test
    void unknownTypeNamesItAndTheProtocol() {
        String message = failure('S', 0, 0, 0, 1);
        assertTrue(message.contains("unknown type 'S'") && message.contains("proto_version 1"), message);
    }

    @Test
    void truncatedMessageSaysWhichEndedEarly() {
        String message = failure('B', 0, 0, 0);
        assertTrue(message.contains("'B' message ends early"), message);
    }

    @Test
    void unterminatedStringAndLeftoverBytes() {
        assertTrue(failure('O', 0, 0, 0, 0, 0, 0, 0, 1, 'a', 'b').contains("not terminated"));
        assertTrue(failure('O', 0, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 9).contains("1 bytes left over"));
    }

    @Test
    void binaryColumnsAreRefused() {
        // Insert into relation 1: 'N', one column, kind 'b'
        String message = failure('I', 0, 0, 0, 1, 'N', 0, 1, 'b', 0, 0, 0, 0);
        assertTrue(message.contains("binary form"), message);
    }

    @Test
    void emptyPayload() {
        assertTrue(failure().contains("empty"));
    }
}

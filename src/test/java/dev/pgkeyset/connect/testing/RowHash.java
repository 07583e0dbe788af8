package dev.pgkeyset.connect.testing;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** A 64-bit fingerprint of a row's canonical text, to compare large tables without holding them. */
public final class RowHash {

    private RowHash() {
    }

    public static long of(Object... fields) {
        StringBuilder text = new StringBuilder();
        for (Object field : fields) {
            text.append(field).append('\u0001');
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.toString().getBytes(StandardCharsets.UTF_8));
            return ByteBuffer.wrap(digest).getLong();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

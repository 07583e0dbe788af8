package dev.pgkeyset.connect.config;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Default names of a connector's replication slot and publication. A slot name may hold only
 * lower-case letters, digits and '_' and at most 63 bytes (NAMEDATALEN - 1); a name that had to be
 * changed to fit ends with a hash of the original, so two connectors whose names differ only in
 * the characters replaced still get different slots.
 */
public final class WalNames {

    static final String PREFIX = "pgkeyset_";
    private static final int MAX_LENGTH = 63;

    private WalNames() {
    }

    /** {@code pgkeyset_<connector name>}, made legal; {@code pgkeyset} alone outside a worker. */
    public static String derived(String connectorName) {
        if (connectorName == null || connectorName.isBlank()) {
            return "pgkeyset";
        }
        String lower = connectorName.toLowerCase(Locale.ROOT);
        String legal = lower.replaceAll("[^a-z0-9_]", "_");
        String name = PREFIX + legal;
        if (legal.equals(connectorName) && name.length() <= MAX_LENGTH) {
            return name;
        }
        String hash = hash(connectorName);
        int keep = Math.min(name.length(), MAX_LENGTH - hash.length() - 1);
        return name.substring(0, keep) + "_" + hash;
    }

    private static String hash(String value) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

package dev.pgkeyset.quickstart;

import java.util.Map;

import dev.pgkeyset.connect.pg.ReplicationServer;

/**
 * Whether the quickstart follows changes from the WAL (its config's {@code capture.mode=wal}) or,
 * where this server or role cannot stream logical replication, by query. The fall-back is never
 * silent: {@link #fallBack} is the one line the first screen prints, saying what to change. A
 * config that asks for query mode is left alone.
 */
record CaptureChoice(String mode, String fallBack) {

    static final String WAL = "wal";
    static final String QUERY = "query";

    /** Logical decoding on a hot standby arrived in PostgreSQL 16. */
    private static final int STANDBY_DECODING_VERSION = 160000;

    boolean wal() {
        return WAL.equals(mode);
    }

    static CaptureChoice decide(Map<String, String> connector, ReplicationServer.Facts server) {
        String asked = connector.getOrDefault("capture.mode", QUERY).strip();
        if (!WAL.equals(asked)) {
            return new CaptureChoice(asked, null);
        }
        String why = null;
        if (!"logical".equals(server.walLevel())) {
            why = "wal_level is '" + server.walLevel() + "' (run ALTER SYSTEM SET wal_level = logical as a superuser "
                    + "and restart PostgreSQL)";
        } else if (!server.superuser() && !server.replication()) {
            why = "role " + server.role() + " may not replicate (run ALTER ROLE " + server.role()
                    + " REPLICATION as a superuser)";
        } else if (server.inRecovery() && server.serverVersion() < STANDBY_DECODING_VERSION) {
            why = "the server is a standby before PostgreSQL 16, which cannot decode the WAL (point PGHOST at the "
                    + "primary)";
        } else if (server.inRecovery()) {
            why = "the server is a standby, which cannot create the quickstart's publication (point PGHOST at the "
                    + "primary)";
        }
        if (why == null) {
            return new CaptureChoice(WAL, null);
        }
        return new CaptureChoice(QUERY, "no WAL capture here: " + why + "; following changes by query instead "
                + "(capture.mode=query: inserts and updates through " + connector.getOrDefault("incremental.column",
                "the tracking column") + ", hard deletes unseen)");
    }

    /**
     * What the first screen says about change capture: in wal mode the slot and publication the
     * connector creates, that they outlive the quickstart and pin WAL, and how to drop them.
     *
     * @param psql a psql command for the server, or null when the config file names it
     */
    java.util.List<String> explain(Map<String, String> connector, String psql, java.nio.file.Path embeddedData) {
        java.util.List<String> lines = new java.util.ArrayList<>();
        if (fallBack != null) {
            lines.add(fallBack);
        }
        if (!wal()) {
            if (fallBack == null) {
                lines.add("changes by query (capture.mode=" + mode + "): inserts and updates through "
                        + connector.getOrDefault("incremental.column", "the tracking column") + ", hard deletes unseen");
            }
            return lines;
        }
        dev.pgkeyset.connect.config.PgKeysetConfig config = new dev.pgkeyset.connect.config.PgKeysetConfig(connector);
        String slot = config.slotName();
        String publication = config.publicationName();
        lines.add("changes from the WAL (capture.mode=wal): the snapshot, then every insert, update and delete, "
                + "through replication slot " + slot + " and publication " + publication);
        String dropSlot = "SELECT pg_drop_replication_slot('" + slot.replace("'", "''") + "')";
        String dropPublication = "DROP PUBLICATION " + dev.pgkeyset.connect.pg.Sql.quoteIdentifier(publication);
        String command = psql == null ? dropSlot + "; " + dropPublication + ";"
                : psql + " -c \"" + dropSlot + "\" -c '" + dropPublication + "'";
        lines.add("  both stay after the quickstart stops, and a slot keeps the server's WAL until it is read or "
                + "dropped; when done: " + command + (embeddedData == null ? ""
                : " (or delete " + embeddedData + ", which holds them)"));
        return lines;
    }

    /** The connector config with this choice's capture.mode. */
    Map<String, String> applyTo(Map<String, String> connector) {
        Map<String, String> chosen = new java.util.LinkedHashMap<>(connector);
        chosen.put("capture.mode", mode);
        return chosen;
    }
}

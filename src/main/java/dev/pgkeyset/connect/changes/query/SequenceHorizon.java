package dev.pgkeyset.connect.changes.query;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.Deque;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Set;

import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.Sql;
import dev.pgkeyset.connect.pg.TableId;

/**
 * For columns filled from a sequence. A transaction may take a value early and commit it late,
 * and nothing records when a value was taken; but a value at or below the largest one visible at
 * some moment was taken before that moment, so it belongs to a committed row or to a transaction
 * open at that moment. Hence each call takes a <em>probe</em> — the largest visible value, then the
 * open transactions (pid and start time) — and the bound is the value of the newest earlier probe
 * all of whose transactions have ended since, inclusive.
 *
 * <p>The probe's value is read from the statement's snapshot, which is taken before the statement
 * reads {@code pg_stat_activity}: a transaction open at the snapshot and not in the list has
 * committed in between, and a later query sees its rows. Probes live in memory: after a restart
 * the first bound comes one probe later. A bound whose value is null says the table was empty at
 * a safe moment. The guarantee assumes values are handed out in order, as a sequence with
 * {@code CACHE 1} (the default) does.
 */
final class SequenceHorizon implements ChangeHorizon {

    /** Probes kept while a long transaction holds the bound back; past it the newest is replaced. */
    private static final int MAX_PROBES = 64;

    /** @param maxValue the largest tracking value visible, null for an empty table */
    private record Probe(String maxValue, Set<String> openTransactions) {
    }

    private final String sql;
    private final Deque<Probe> probes = new ArrayDeque<>();
    private final OpenTransactions open = new OpenTransactions();

    SequenceHorizon(TableId table, boolean only, ColumnInfo tracking) {
        // A transaction is its pid and start (epoch: the same text whatever the session's zone).
        this.sql = OpenTransactions.WITH + "SELECT (SELECT max(" + Sql.quoteIdentifier(tracking.name()) + ")::pg_catalog.text FROM "
                + (only ? "ONLY " : "") + table.quoted() + "),"
                + " (SELECT coalesce(array_agg(pid || '@' || extract(epoch FROM xact_start)::pg_catalog.text), '{}') FROM open"
                + " WHERE xact_start IS NOT NULL), " + OpenTransactions.COLUMNS;
    }

    /**
     * A transaction whose start cannot be seen (track_activities off) holds the bound while it is
     * open and is in no probe: a probe taken meanwhile is used only after it ended, when its rows
     * are committed and visible to the change query that follows.
     */
    @Override
    public Bound current(Connection connection) throws SQLException {
        Probe now;
        boolean hold;
        try (PreparedStatement st = connection.prepareStatement(sql)) {
            OpenTransactions.bind(st, connection);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                now = new Probe(rs.getString(1), transactions(rs.getArray(2)));
                hold = open.mustHold(rs, 3);
            }
        }
        // The newest earlier probe whose transactions have all ended; older ones are superseded.
        Probe found = null;
        Iterator<Probe> newestFirst = probes.descendingIterator();
        while (newestFirst.hasNext() && found == null) {
            Probe probe = newestFirst.next();
            if (Collections.disjoint(probe.openTransactions(), now.openTransactions())) {
                found = probe;
            }
        }
        if (found != null) {
            while (probes.removeFirst() != found) {
                // drop the probes up to and including the one used
            }
        }
        if (probes.size() >= MAX_PROBES) {
            probes.removeLast();
        }
        probes.addLast(now);
        return hold || found == null ? null : new Bound(found.maxValue(), true);
    }

    private static Set<String> transactions(Array array) throws SQLException {
        Set<String> ids = new HashSet<>();
        for (Object id : (Object[]) array.getArray()) {
            ids.add((String) id);
        }
        return ids;
    }
}

package dev.pgkeyset.connect.changes.wal;

import static dev.pgkeyset.connect.changes.wal.LeafCopyRecords.id;
import static dev.pgkeyset.connect.changes.wal.LeafCopyRecords.diff;
import static dev.pgkeyset.connect.changes.wal.LeafCopyRecords.pollAcking;
import static dev.pgkeyset.connect.changes.wal.WalPartitionReviewIT.rows;
import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.liveAfterTruncates;
import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.uniqueName;
import static dev.pgkeyset.connect.changes.wal.WalValuesIT.walProps;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.offset.WalOffset;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * Review 3: a sub-partitioned table (a leaf with another column order, a dropped column and
 * TOASTed text, and a DEFAULT leaf) attached while p's own initial chunked snapshot runs, its key
 * range below the snapshot's position; rows of it changed meanwhile (some only in n, so the text
 * is an unchanged TOAST value in the stream); a restart with the slot offset and the table
 * offset rewound independently.
 */
class WalLeafCopyReview3IT {

    static Map<Integer, Integer> textLengths(List<SourceRecord> records) {
        Map<Integer, Integer> last = new HashMap<>();
        for (SourceRecord r : records) {
            if (r.key() == null) {
                continue;
            }
            Struct v = (Struct) r.value();
            last.put(id(r), v == null ? null : (v.get("t") == null ? -1 : ((String) v.get("t")).length()));
        }
        last.values().removeIf(x -> x == null);
        return last;
    }

    static Map<Integer, Integer> pgTextLengths(TestDatabase db) throws Exception {
        Map<Integer, Integer> m = new HashMap<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, coalesce(length(t), -1) FROM p")) {
            while (rs.next()) {
                m.put(rs.getInt(1), rs.getInt(2));
            }
        }
        return m;
    }

    /**
     * @param rewind "slot": the slot offset set back to before the ATTACH, table offset as committed;
     *               "table": the table offset set back to before the ATTACH, slot offset as committed;
     *               "both": both set back; "noslot": slot offset removed, table offset set back
     */
    @ParameterizedTest
    @ValueSource(strings = {"slot", "table", "both", "noslot"})
    void attachedDuringTheTablesOwnSnapshotThenRewound(String rewind) throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("wal_lc3_" + rewind);
        String name = uniqueName("lc3" + rewind);
        try {
            db.execute("CREATE TABLE p (id int PRIMARY KEY, n int, t text) PARTITION BY RANGE (id)",
                    "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (1000) TO (100000)",
                    "INSERT INTO p SELECT g, 0, 'p' FROM generate_series(1000, 3999) g",
                    "CREATE TABLE q (id int NOT NULL, n int, t text) PARTITION BY RANGE (id)",
                    "CREATE TABLE q1 (t text, junk int, n int, id int NOT NULL)",
                    "ALTER TABLE q1 DROP COLUMN junk",
                    "ALTER TABLE q ATTACH PARTITION q1 FOR VALUES FROM (0) TO (500)",
                    "CREATE TABLE qd PARTITION OF q DEFAULT",
                    "ALTER TABLE q1 ADD PRIMARY KEY (id)",
                    "ALTER TABLE qd ADD PRIMARY KEY (id)",
                    "INSERT INTO q SELECT g, -g, (SELECT string_agg(md5(g::text || x::text), '') FROM generate_series(1, 200) x) FROM generate_series(1, 999) g");
            Map<String, String> props = walProps(db, "public\\.p", name);
            props.put(PgKeysetConfig.SNAPSHOT_CHUNK_SIZE, "7");
            props.put(PgKeysetConfig.BATCH_MAX_ROWS, "5");
            props.put(PgKeysetConfig.CATALOG_CHECK_INTERVAL_MS, "100");
            props.put(PgKeysetConfig.TRUNCATE_HANDLING, "skip");
            List<SourceRecord> records = new ArrayList<>();
            Exception failure = null;
            Map<Map<String, Object>, Map<String, Object>> beforeAttach;
            try (TaskHarness task = new TaskHarness(props).start()) {
                pollAcking(task, records, 60_000, r -> r.stream().filter(x -> x.key() != null && id(x) >= 1000).count() >= 300);
                db.execute("INSERT INTO p VALUES (50000, 1, 's')");
                pollAcking(task, records, 60_000, r -> r.stream().anyMatch(x -> x.key() != null && id(x) == 50000));
                beforeAttach = new HashMap<>(task.committed());
                db.execute("ALTER TABLE p ATTACH PARTITION q FOR VALUES FROM (0) TO (1000)");
                pollAcking(task, records, 800, null);
                db.execute("UPDATE p SET n = n + 10000 WHERE id < 300 AND id % 3 = 0",
                        "DELETE FROM p WHERE id BETWEEN 600 AND 620",
                        "UPDATE p SET n = 7 WHERE id BETWEEN 1000 AND 1010");
                pollAcking(task, records, 3000, null);
                db.execute("UPDATE p SET n = n + 20000 WHERE id BETWEEN 900 AND 950");
                pollAcking(task, records, 500, null);
                task.stop();
                System.out.println("Review3 " + rewind + ": committed at stop " + task.committed().keySet()
                        + " before attach " + beforeAttach.keySet());
                for (Map<String, Object> part : new ArrayList<>(task.committed().keySet())) {
                    boolean slot = part.containsKey(WalOffset.SLOT);
                    boolean set = switch (rewind) {
                        case "slot" -> slot;
                        case "table" -> !slot;
                        default -> true;
                    };
                    if (set) {
                        Map<String, Object> old = beforeAttach.get(part);
                        if (old == null || ("noslot".equals(rewind) && slot)) {
                            task.committed().remove(part);
                        } else {
                            task.committed().put(part, old);
                        }
                    }
                }
                System.out.println("Review3 " + rewind + ": restart from " + task.committed());
                task.start();
                db.execute("UPDATE p SET n = n + 30000 WHERE id BETWEEN 100 AND 120");
                try {
                    Map<Integer, Integer> expected = rows(db);
                    pollAcking(task, records, 90_000, r -> liveAfterTruncates(r).equals(expected));
                    pollAcking(task, records, 3000, null);
                } catch (Exception e) {
                    failure = e;
                }
            }
            System.out.println("Review3 " + rewind + ": failure " + failure);
            assertNull(failure);
            Map<Integer, Integer> expected = rows(db);
            Map<Integer, Integer> live = liveAfterTruncates(records);
            assertTrue(expected.equals(live), diff(expected, live));
            Map<Integer, Integer> pgt = pgTextLengths(db);
            Map<Integer, Integer> topict = textLengths(records);
            assertTrue(pgt.equals(topict), "text lengths: " + diff(pgt, topict));
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }
}

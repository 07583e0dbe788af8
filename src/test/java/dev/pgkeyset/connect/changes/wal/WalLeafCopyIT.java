package dev.pgkeyset.connect.changes.wal;

import static dev.pgkeyset.connect.changes.wal.LeafCopyRecords.id;
import static dev.pgkeyset.connect.changes.wal.LeafCopyRecords.op;
import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.liveAfterTruncates;
import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.lookingEverySecond;
import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.pollFor;
import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.startAndPollFor;
import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.uniqueName;
import static dev.pgkeyset.connect.changes.wal.WalValuesIT.pollUntil;
import static dev.pgkeyset.connect.changes.wal.WalValuesIT.walProps;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.offset.WalOffset;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * A table attached with its rows to a captured partitioned table: its rows were never in the WAL,
 * so the task copies them through the table in chunks beside the stream while a writer updates,
 * deletes and inserts rows of it and of another partition. Each key's last record must equal
 * PostgreSQL's row of p, also when the task is stopped in the middle of the copy and restarted
 * from an earlier committed offset of the slot (a worker commits offsets later than it hands
 * records over, and may be killed in between). Sizes, chunk sizes, the writer's operations and
 * the restart point come from a printed seed ({@code -DleafCopyIT.seed=N} replays them; the
 * interleaving with the stream is the machine's).
 */
class WalLeafCopyIT {

    private static long seed() {
        String given = System.getProperty("leafCopyIT.seed");
        long seed = given == null || given.isBlank() ? System.nanoTime() : Long.parseLong(given);
        System.out.println("WalLeafCopyIT seed " + seed + " (replay: -DleafCopyIT.seed=" + seed + ")");
        return seed;
    }

    @Test
    void anAttachedTablesRowsArriveWhileTheyAreWrittenTo() throws Exception {
        run("leafcopy", seed(), false);
    }

    @Test
    void aCopyInterruptedAndResumedFromAnEarlierOffsetLosesNothing() throws Exception {
        run("leafcopy_rs", seed(), true);
    }

    private static void run(String purpose, long seed, boolean restart) throws Exception {
        Random random = new Random(seed);
        int attachedRows = 300 + random.nextInt(900);
        int chunkSize = 5 + random.nextInt(40);
        TestDatabase db = PostgresFixture.createDatabase("wal_" + purpose);
        String name = uniqueName(purpose);
        AttachedTableWriter writer = null;
        try {
            db.execute("CREATE TABLE p (id int PRIMARY KEY, n int) PARTITION BY RANGE (id)",
                    "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (1000)",
                    "INSERT INTO p SELECT g, 0 FROM generate_series(1, 300) g",
                    "CREATE TABLE q (id int PRIMARY KEY, n int)",
                    "INSERT INTO q SELECT 5000 + g, -g FROM generate_series(1, " + attachedRows + ") g");
            Map<String, String> props = lookingEverySecond(walProps(db, "public\\.p", name));
            props.put(PgKeysetConfig.SNAPSHOT_CHUNK_SIZE, Integer.toString(chunkSize));
            props.put("batch.max.rows", Integer.toString(20 + random.nextInt(500)));
            System.out.printf("WalLeafCopyIT %s: %d rows attached, chunks of %d, restart %s%n", purpose, attachedRows,
                    chunkSize, restart);
            try (TaskHarness task = new TaskHarness(props).start()) {
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(), r -> r.size() >= 300);
                writer = new AttachedTableWriter(db, random.nextLong(), 5001, attachedRows + 200, 300, "");
                writer.start();
                Thread.sleep(100);
                db.execute("ALTER TABLE p ATTACH PARTITION q FOR VALUES FROM (5000) TO (10000)");
                if (restart) {
                    int copiedBeforeStop = 1 + random.nextInt(Math.max(1, attachedRows / 2));
                    pollUntil(task, records, r -> r.stream().filter(x -> "r".equals(op(x)) && id(x) >= 5000)
                            .count() >= copiedBeforeStop);
                    task.stop();
                    rewindSlotOffset(task, records, name, random);
                    assertNull(startAndPollFor(task, records, 1000), "restarted");
                }
                pollFor(task, records, 3000);
                assertNull(writer.finish(), "the writer");
                assertNull(pollFor(task, records, 4000), "the task goes on");
                Map<Integer, Integer> rows = WalPartitionReviewIT.rows(db);
                Map<Integer, Integer> live = liveAfterTruncates(records);
                assertEquals(rows, live, "each key's last record against PostgreSQL's rows of p (seed " + seed + ")");
                Map<String, Object> slot = task.committed().get(WalOffset.partition(name));
                String partitions = WalOffset.partitions(slot);
                assertTrue(partitions != null && !partitions.contains("copying"),
                        "the last offset says the copy is done: " + slot);
            }
        } finally {
            if (writer != null) {
                writer.finish();
            }
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /**
     * The slot's committed offset goes back to that of a randomly chosen earlier record of the
     * stream (or to none), as after a worker that was killed before it committed the rest.
     */
    private static void rewindSlotOffset(TaskHarness task, List<SourceRecord> records, String slot, Random random) {
        List<SourceRecord> ofTheStream = records.stream()
                .filter(r -> r.sourcePartition().containsKey(WalOffset.SLOT)).toList();
        Map<String, Object> partition = WalOffset.partition(slot);
        if (ofTheStream.isEmpty() || random.nextInt(5) == 0) {
            task.committed().remove(partition);
            System.out.println("WalLeafCopyIT: the slot's committed offset removed");
            return;
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> offset = (Map<String, Object>) ofTheStream.get(random.nextInt(ofTheStream.size()))
                .sourceOffset();
        task.committed().put(partition, offset);
        System.out.println("WalLeafCopyIT: the slot's committed offset rewound to " + offset);
    }
}

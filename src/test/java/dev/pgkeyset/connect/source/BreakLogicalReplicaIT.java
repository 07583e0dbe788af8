package dev.pgkeyset.connect.source;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;

import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.testing.Polls;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * Adversarial: the connector follows a logical-replication subscriber (what a user does once a hot
 * standby is refused). The apply worker writes the publisher's tracking values (triggers and
 * defaults do not run on the subscriber), in the publisher's commit order, each remote transaction
 * in a short transaction of its own: a row taken first and committed last on the publisher lands
 * on the subscriber below the position. Publisher and subscriber are two databases of this server.
 */
class BreakLogicalReplicaIT {

    private TestDatabase pub;
    private TestDatabase sub;
    private final String slot = "pgkeyset_break_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
    private boolean subscribed;

    @BeforeEach
    void setUp() {
        pub = PostgresFixture.createDatabase("break_lr_pub");
        sub = PostgresFixture.createDatabase("break_lr_sub");
        Assumptions.assumeTrue(pub.queryLong("SELECT (current_setting('wal_level') = 'logical')::int") == 1,
                "needs wal_level=logical");
    }

    @AfterEach
    void tearDown() {
        try {
            if (subscribed) {
                sub.execute("ALTER SUBSCRIPTION s DISABLE", "ALTER SUBSCRIPTION s SET (slot_name = NONE)",
                        "DROP SUBSCRIPTION s");
            }
        } finally {
            try {
                if (pub.queryLong("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + slot + "'") > 0) {
                    // the apply worker lets go of the slot shortly after the subscription is disabled
                    for (int i = 0; i < 100; i++) {
                        if (pub.queryLong("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + slot
                                + "' AND NOT active") > 0) {
                            break;
                        }
                        Thread.sleep(100);
                    }
                    pub.execute("SELECT pg_drop_replication_slot('" + slot + "')");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                sub.close();
                pub.close();
            }
        }
    }

    private void replicate(String tableDdl, String trackedType) {
        pub.execute(tableDdl, "CREATE PUBLICATION p FOR TABLE t",
                "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        // On the subscriber: the same columns, no defaults (values come from the publisher).
        sub.execute("CREATE TABLE t (id bigint PRIMARY KEY, note text, tracked " + trackedType + " NOT NULL)",
                "CREATE INDEX ON t (tracked, id)");
        PostgresFixture.Server s = PostgresFixture.server();
        sub.execute("CREATE SUBSCRIPTION s CONNECTION 'host=" + s.host() + " port=" + s.port() + " dbname="
                + pub.name() + " user=" + s.user() + (s.password() == null ? "" : " password=" + s.password())
                + "' PUBLICATION p WITH (create_slot = false, slot_name = '" + slot + "', copy_data = false)");
        subscribed = true;
    }

    private static Set<Long> keys(TestDatabase db) throws Exception {
        Set<Long> keys = new TreeSet<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM t ORDER BY id")) {
            while (rs.next()) {
                keys.add(rs.getLong(1));
            }
        }
        return keys;
    }

    private void awaitOnSubscriber(long id) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (sub.queryLong("SELECT count(*) FROM t WHERE id = " + id) == 0) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("row " + id + " never reached the subscriber");
            }
            Thread.sleep(50);
        }
    }

    @Test
    void aTimestamptzRowCommittedLateOnThePublisherIsLostOnTheSubscriber() throws Exception {
        replicate("CREATE TABLE t (id bigint PRIMARY KEY, note text, tracked timestamptz NOT NULL DEFAULT now())",
                "timestamptz");
        lateRowOnPublisher();
    }

    @Test
    void aSequenceRowCommittedLateOnThePublisherIsLostOnTheSubscriber() throws Exception {
        pub.execute("CREATE SEQUENCE v_seq");
        replicate("CREATE TABLE t (id bigint PRIMARY KEY, note text, tracked bigint NOT NULL DEFAULT nextval('v_seq'))",
                "bigint");
        lateRowOnPublisher();
    }

    private void lateRowOnPublisher() throws Exception {
        pub.execute("INSERT INTO t (id, note) VALUES (1000, 'seed')");
        awaitOnSubscriber(1000);
        Map<String, String> props = sub.connectorConfig("c", "public\\.t");
        props.put("snapshot.mode", "never");
        props.put("incremental.columns", "public.t:tracked");
        props.put("poll.interval.ms", "50");
        List<SourceRecord> records = new ArrayList<>();
        try (TaskHarness harness = new TaskHarness(props).start(); Connection longTx = pub.connect()) {
            Polls.until(harness, records, Duration.ofSeconds(30), () -> records.size() >= 1);
            longTx.setAutoCommit(false);
            try (Statement st = longTx.createStatement()) {
                st.execute("INSERT INTO t (id, note) VALUES (0, 'late')"); // its value: taken first
            }
            for (int i = 1; i <= 10; i++) {
                pub.execute("INSERT INTO t (id, note) VALUES (" + i + ", 'quick')");
            }
            awaitOnSubscriber(10);
            Polls.during(harness, records, Duration.ofSeconds(2));
            longTx.commit();
            awaitOnSubscriber(0);
            Set<Long> expected = keys(sub);
            Polls.during(harness, records, Duration.ofSeconds(5));
            Set<Long> delivered = records.stream().map(Polls::id).collect(Collectors.toCollection(TreeSet::new));
            Set<Long> missing = new TreeSet<>(expected);
            missing.removeAll(delivered);
            System.out.println("BreakLogicalReplicaIT: subscriber has " + expected + "; delivered " + delivered
                    + "; missing " + missing);
            assertEquals(expected, delivered, "every row committed on the subscriber arrives");
        }
    }
}

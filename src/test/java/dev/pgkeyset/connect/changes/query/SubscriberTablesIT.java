package dev.pgkeyset.connect.changes.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.PgKeysetSourceConnector;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * A logical-replication subscriber's table cannot be followed (found by an adversarial review,
 * first as a loss: subscriber had [0..10, 1000], row 0 never delivered): the apply worker writes
 * the publisher's tracking values in the publisher's commit order, each remote transaction in a
 * short transaction of its own, so a row taken first and committed last on the publisher lands
 * below the position. The connector refuses such a table at validate() and at start, naming it
 * and the remedy (the publisher); the publisher's own table is accepted. Publisher and subscriber
 * are two databases of this server; the slot and subscription are dropped whatever happens.
 */
class SubscriberTablesIT {

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
            if (subscribed && sub.queryLong("SELECT count(*) FROM pg_subscription WHERE subname = 's'") > 0) {
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
        subscribed = true; // from here on the tear-down looks for a slot and a subscription
        pub.execute(tableDdl, "CREATE PUBLICATION p FOR TABLE t",
                "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        // On the subscriber: the same columns, no defaults (values come from the publisher).
        sub.execute("CREATE TABLE t (id bigint PRIMARY KEY, note text, tracked " + trackedType + " NOT NULL)",
                "CREATE INDEX ON t (tracked, id)");
        PostgresFixture.Server s = PostgresFixture.server();
        sub.execute("CREATE SUBSCRIPTION s CONNECTION 'host=" + s.host() + " port=" + s.port() + " dbname="
                + pub.name() + " user=" + s.user() + (s.password() == null ? "" : " password=" + s.password())
                + "' PUBLICATION p WITH (create_slot = false, slot_name = '" + slot + "', copy_data = false)");
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
    void aSubscribedTimestamptzTableIsRefused() throws Exception {
        replicate("CREATE TABLE t (id bigint PRIMARY KEY, note text, tracked timestamptz NOT NULL DEFAULT now())",
                "timestamptz");
        refusedOnSubscriberAcceptedOnPublisher();
    }

    @Test
    void aSubscribedSequenceTableIsRefused() throws Exception {
        pub.execute("CREATE SEQUENCE v_seq");
        replicate("CREATE TABLE t (id bigint PRIMARY KEY, note text, tracked bigint NOT NULL DEFAULT nextval('v_seq'))",
                "bigint");
        refusedOnSubscriberAcceptedOnPublisher();
    }

    private void refusedOnSubscriberAcceptedOnPublisher() throws Exception {
        pub.execute("INSERT INTO t (id, note) VALUES (1000, 'seed')");
        awaitOnSubscriber(1000);
        // The oracle: PostgreSQL's own record that t is a subscription target on one side only.
        assertEquals(1, sub.queryLong("SELECT count(*) FROM pg_subscription_rel WHERE srrelid = 'public.t'::regclass"));
        assertEquals(0, pub.queryLong("SELECT count(*) FROM pg_subscription_rel"));
        assertEquals(keys(pub), keys(sub));

        List<String> errors = validationErrors(sub);
        System.out.println("SubscriberTablesIT: validate() on the subscriber: " + errors);
        assertTrue(errors.stream().anyMatch(e -> e.contains("public.t") && e.contains("logical-replication")
                && e.contains("publisher")), "validate() names the subscribed table and the publisher: " + errors);
        Exception atStart = assertThrows(Exception.class, () -> new TaskHarness(config(sub)).start().close());
        String messages = messages(atStart);
        assertTrue(messages.contains("public.t") && messages.contains("publisher"), "start refuses: " + messages);

        assertEquals(List.of(), validationErrors(pub), "the publisher's table is accepted");
    }

    private static Map<String, String> config(TestDatabase db) {
        Map<String, String> props = db.connectorConfig("c", "public\\.t");
        props.put("snapshot.mode", "never");
        props.put("incremental.columns", "public.t:tracked");
        return props;
    }

    private static List<String> validationErrors(TestDatabase db) {
        return new PgKeysetSourceConnector().validate(config(db)).configValues().stream()
                .flatMap(v -> v.errorMessages().stream()).toList();
    }

    static String messages(Throwable e) {
        StringBuilder all = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            all.append(t.getMessage()).append(" | ");
        }
        return all.toString();
    }
}

package dev.pgkeyset.connect.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The chaos checker must be able to fail: records fed to it by hand (no broker) with a lost key,
 * a stale version, a missing tombstone, a duplicate and a counter going back, each seen.
 */
class DeliveryObserverTest {

    private static final String TOPIC = "chaos.public.t";
    private DeliveryObserver observer;
    private long offset;

    @BeforeEach
    void setUp() {
        // Never started: the consumer is made but does not connect.
        observer = new DeliveryObserver("127.0.0.1:1", List.of(TOPIC), false);
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        observer.close();
    }

    private void feed(long id, Long v, String op) throws Exception {
        byte[] key = ("{\"payload\":{\"id\":" + id + "}}").getBytes(StandardCharsets.UTF_8);
        byte[] value = v == null ? null
                : ("{\"payload\":{\"id\":" + id + ",\"v\":" + v + ",\"note\":\"n" + v + "\"}}")
                        .getBytes(StandardCharsets.UTF_8);
        RecordHeaders headers = new RecordHeaders();
        headers.add("pgkeyset.op", op.getBytes(StandardCharsets.UTF_8));
        observer.take(new ConsumerRecord<>(TOPIC, 0, offset++, 0L, TimestampType.CREATE_TIME, 0, 0, key, value,
                headers, java.util.Optional.empty()), System.currentTimeMillis());
    }

    private static ChaosTables.RowState row(long v) {
        return new ChaosTables.RowState(v, "n" + v);
    }

    @Test
    void aTopicEqualToItsTableHasNoDifferences() throws Exception {
        feed(1, 0L, "r");
        feed(1, 1L, "u");
        feed(2, 0L, "c");
        feed(2, null, "d");
        assertEquals(List.of(), observer.differences(TOPIC, Map.of(1L, row(1))));
        assertEquals(0, observer.duplicates().size());
        assertEquals(0, observer.regressions().size());
    }

    @Test
    void aMissingKeyAStaleVersionAndAMissingTombstoneAreDifferences() throws Exception {
        feed(1, 0L, "r");
        feed(1, 1L, "u");
        feed(3, 0L, "c");
        List<String> differences = observer.differences(TOPIC, Map.of(1L, row(2), 2L, row(0)));
        assertEquals(3, differences.size(), differences.toString());
        assertTrue(differences.stream().anyMatch(d -> d.contains("id 1: last record v=1")), differences.toString());
        assertTrue(differences.stream().anyMatch(d -> d.contains("id 2: never delivered")), differences.toString());
        assertTrue(differences.stream().anyMatch(d -> d.contains("id 3: deleted")), differences.toString());
    }

    @Test
    void aRepeatedVersionIsADuplicateAndALowerNewVersionARegression() throws Exception {
        feed(1, 5L, "r");
        feed(1, 2L, "u"); // the stream after a snapshot: older changes come, not a regression
        feed(1, 3L, "u");
        feed(1, 2L, "u"); // re-delivered: a duplicate, not a regression
        feed(1, 1L, "u"); // never seen and below 3: the history out of order
        assertEquals(1, observer.duplicates().size());
        assertEquals(1, observer.regressions().size());
        assertEquals(1L, observer.regressions().get(0).v());
        assertTrue(observer.changeDelivered(TOPIC, 1, 3));
        assertTrue(!observer.changeDelivered(TOPIC, 1, 4));
    }

    private void feedWal(long id, long v, String commitLsn, long producedAt) throws Exception {
        byte[] key = ("{\"payload\":{\"id\":" + id + "}}").getBytes(StandardCharsets.UTF_8);
        byte[] value = ("{\"payload\":{\"id\":" + id + ",\"v\":" + v + ",\"note\":\"n\"}}")
                .getBytes(StandardCharsets.UTF_8);
        RecordHeaders headers = new RecordHeaders();
        headers.add("pgkeyset.op", "u".getBytes(StandardCharsets.UTF_8));
        headers.add("pgkeyset.lsn", commitLsn.getBytes(StandardCharsets.UTF_8));
        observer.take(new ConsumerRecord<>(TOPIC, 0, offset++, producedAt, TimestampType.CREATE_TIME, 0, 0, key,
                value, headers, java.util.Optional.empty()), producedAt + 10);
    }

    @Test
    void aChangeProducedBeforeAPositionCommittedEarlierWasReSentFromBeforeTheCommittedOffset() throws Exception {
        // Committed: 0/100 at t=1000, 0/300 at t=5000, then an older offset flushed late (t=6000) changes nothing.
        CommittedWalPositions committed = new CommittedWalPositions(List.of(new long[] {5000, 0x300},
                new long[] {1000, 0x100}, new long[] {6000, 0x200}));
        assertEquals(0, committed.committedAt(999));
        assertEquals(0x100, committed.committedAt(4999));
        assertEquals(0x300, committed.committedAt(6500));
        feedWal(1, 1, "0/100", 2000);  // the committed transaction itself, re-sent: allowed
        feedWal(2, 1, "0/300", 7000);  // at the committed position: allowed
        feedWal(3, 1, "0/400", 7000);  // after it: allowed
        feedWal(4, 1, "0/200", 7000);  // before 0/300, committed 2 s before it was produced: beyond the bound
        feedWal(5, 1, "0/200", 5500);  // the same, but within the margin of 1 s: allowed
        List<String> found = observer.resentBeforeCommitted(committed, 1000);
        assertEquals(1, found.size(), found.toString());
        assertTrue(found.get(0).contains("id 4"), found.toString());
        assertEquals(5, observer.walDeliveries());
    }

    private void feedQuery(long id, long v, String op, long updatedAtMillis, long producedAt) throws Exception {
        byte[] key = ("{\"payload\":{\"id\":" + id + "}}").getBytes(StandardCharsets.UTF_8);
        byte[] value = ("{\"payload\":{\"id\":" + id + ",\"v\":" + v + ",\"note\":\"n\",\"updated_at\":"
                + updatedAtMillis + "}}").getBytes(StandardCharsets.UTF_8);
        RecordHeaders headers = new RecordHeaders();
        headers.add("pgkeyset.op", op.getBytes(StandardCharsets.UTF_8));
        observer.take(new ConsumerRecord<>(TOPIC, 0, offset++, producedAt, TimestampType.CREATE_TIME, 0, 0, key,
                value, headers, java.util.Optional.empty()), producedAt + 10);
    }

    private static com.fasterxml.jackson.databind.JsonNode json(String text) throws Exception {
        return new com.fasterxml.jackson.databind.ObjectMapper().readTree(text);
    }

    @Test
    void theOffsetsTimestampsAreReadInPostgresqlsTextFormAndIso() {
        assertEquals(java.time.Instant.parse("2026-12-02T18:07:35.789589Z"),
                CommittedQueryPositions.instant("2026-12-02 18:07:35.789589+00"));
        assertEquals(java.time.Instant.parse("2026-12-02T12:37:35Z"),
                CommittedQueryPositions.instant("2026-12-02 18:07:35+05:30"));
        assertEquals(java.time.Instant.parse("2024-05-01T10:00:07.5Z"), CommittedQueryPositions.instant("2024-05-01T10:00:07.5Z"));
    }

    @Test
    void aQueryReadBeforeTheCommittedPositionOrASnapshotStartedOverIsFound() throws Exception {
        CommittedQueryPositions committed = new CommittedQueryPositions();
        // public.t read whole: snapshot up to key 50 at t=1000, its change phase at t=5000 (2024-05-01T10:00:07.5Z).
        committed.add(json("{\"table\":\"public.t\"}"),
                json("{\"phase\":\"snapshot\",\"key_columns\":\"[\\\"id\\\"]\",\"key\":\"[50]\"}"), 1000);
        committed.add(json("{\"table\":\"public.t\"}"), json("{\"phase\":\"incremental\",\"key_columns\":"
                + "\"[\\\"updated_at\\\",\\\"id\\\"]\",\"key\":\"[\\\"2024-05-01T10:00:07.5Z\\\",42]\"}"), 5000);
        long changed = java.time.Instant.parse("2024-05-01T10:00:07.5Z").toEpochMilli();
        feedQuery(60, 0, "r", 0, 2500);           // after key 50: allowed
        feedQuery(50, 0, "r", 0, 2500);           // key 50 again after it was committed: found
        feedQuery(70, 0, "r", 0, 7000);           // a snapshot read after the change phase: found
        feedQuery(1, 1, "u", changed, 7000);      // at the committed tracking value (its millisecond): allowed
        feedQuery(2, 1, "u", changed - 1, 7000);  // a millisecond before it: found
        feedQuery(3, 1, "u", changed - 1, 5500);  // the same within the margin: allowed
        List<String> found = observer.resentBeforeCommitted(committed, 1000);
        assertEquals(3, found.size(), found.toString());
        assertTrue(found.get(0).contains("id 50") && found.get(0).contains("after key 50"), found.toString());
        assertTrue(found.get(1).contains("id 70") && found.get(1).contains("started over"), found.toString());
        assertTrue(found.get(2).contains("id 2 "), found.toString());
    }
}

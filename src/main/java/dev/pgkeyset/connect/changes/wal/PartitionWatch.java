package dev.pgkeyset.connect.changes.wal;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import org.apache.kafka.connect.errors.ConnectException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.pgkeyset.connect.config.TruncateHandling;
import dev.pgkeyset.connect.pg.TableId;

/**
 * Partition maintenance of captured partitioned tables, which the stream does not show.
 * {@code ATTACH PARTITION} of a table that holds rows, {@code DETACH PARTITION}, {@code DROP} of a
 * partition and {@code TRUNCATE} of one partition change which rows the table has without one
 * row change in the WAL (with {@code publish_via_partition_root}, which the connector needs,
 * pgoutput drops a partition's truncate). Left alone, the topic would silently differ from the
 * table: rows of an attached table never arrive, rows of a detached or truncated one stay live.
 *
 * <p>So the task looks at the tables' leaf partitions with every metrics sample ({@link #check})
 * and compares them with the last look. A change is written to the WAL as a transactional logical
 * message (prefix {@value #PREFIX}), and acted on when the stream delivers it ({@link #onMarker}):
 * in stream order, after every change committed before the look, and kept by the slot until
 * then, so a task that fails or is killed before acting meets the same message again after its
 * restart. What it does:
 * <ul>
 * <li>a partition that holds rows when a look first sees it (attached with rows; see
 *     {@link PartitionLeaves#holdsRows} for why any row counts): rows written before it was a
 *     partition were never streamed, so its rows are copied through the table beside the stream
 *     ({@link #takeCopiesToStart}: the task's chunked snapshot reads that leaf only, and the
 *     copy's rows take the stream's place and offsets). While the copy runs,
 *     {@link #fingerprint()} lists the leaf as being copied, so a restart before its last row was
 *     committed copies it again, and the slot is held at the message that asked for it
 *     ({@link #confirmationHold}), so a restart before any such offset was committed meets the
 *     message again. Where the server cannot stream messages (no watermarks), the task fails
 *     instead, naming the table, the partition and the way out (a new snapshot of the table);</li>
 * <li>a partition detached, dropped or truncated: as truncate.handling says for the partition's
 *     table, {@code fail} fails the task naming them; {@code event} and {@code skip} log a warning
 *     naming the partition and its bounds (a truncate record would tell consumers the whole table
 *     was emptied, so none is sent), and the stream goes on;</li>
 * <li>a partition detached and attached again between two looks (a new {@code pg_inherits}
 *     link) while it holds rows: the task fails as above (what changed while it was out, deletes
 *     included, cannot be had); when it is empty, as a detach;</li>
 * <li>a partition created ({@code CREATE TABLE ... PARTITION OF}) or attached, still empty at the
 *     look that first sees it: its rows are streamed, nothing to do (one that already holds rows
 *     then is copied, as above); VACUUM FULL or CLUSTER of a partition (a new file that kept rows
 *     older than the previous look): nothing.</li>
 * </ul>
 * A message written before this run's snapshot of a table began from the start is passed over:
 * that snapshot reads the table as it is after the DDL (the way out the failure names).
 *
 * <p>Where the server cannot write or stream logical messages (before PostgreSQL 14, a standby),
 * the same is done at the look itself, which is then not in stream order. The slot's offsets carry
 * the partitions of the last look ({@link #fingerprint()}), so DDL made while no task ran is acted
 * on at the next start. A message the committed offset has passed (the slot re-sends from its
 * confirmed position, which may be behind) was acted on by the run that made that offset, and is
 * not acted on again. DDL whose net effect between two looks is nothing (a partition created,
 * filled and detached within one look, catalog.check.interval.ms) is not seen.
 */
public final class PartitionWatch {

    private static final Logger log = LoggerFactory.getLogger(PartitionWatch.class);

    /** The logical message prefix of the watch's messages. */
    public static final String PREFIX = "pgkeyset-partitions";

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One copy of a leaf's rows ({@link #takeCopiesToStart}): its id tells it from a later copy
     * of the same leaf (copied, stopped when the leaf left the table, copied again when it came back).
     */
    public record Copy(Change change, long id) {
    }

    /** What happened to a partition between two looks. */
    public enum Kind { ATTACHED_WITH_ROWS, REATTACHED_WITH_ROWS, DETACHED, DROPPED, TRUNCATED }

    /**
     * One partition change of captured table {@code table}.
     *
     * @param classXmin for TRUNCATED, the xid that gave the partition its new file (a whole-table
     *                  TRUNCATE the stream delivered is told apart by it); null otherwise
     * @param oid       the leaf partition's OID; 0 when not known (a message of an earlier version)
     */
    public record Change(Kind kind, TableId table, TableId partition, String bound, String classXmin, long oid) {
    }

    /** How many whole-table TRUNCATE xids are remembered per table (they are matched within seconds). */
    private static final int TRUNCATES_REMEMBERED = 64;

    /** Captured partitioned tables: quoted name to id. */
    private final Map<String, TableId> roots;
    private final TruncateHandling truncateHandling;
    /** Tables this run snapshots from the start: a message from an earlier run is behind that snapshot. */
    private final Set<TableId> snapshottedFromTheStart;
    private final boolean inStream;
    private final String runId = UUID.randomUUID().toString();
    private Map<String, Map<Long, PartitionLeaves.Leaf>> known;
    /** The xmin of the look that saw {@link #known}: rows older than it survived a new file. */
    private String knownXmin;
    /** {@link #fingerprint()} of {@link #known}, made when first asked for. */
    private String fingerprint;
    /** Per table, the xids of whole-table TRUNCATEs the stream delivered: their leaves' new files are those. */
    private final Map<TableId, java.util.Deque<String>> truncatedInStream = new java.util.HashMap<>();
    /**
     * Leaves attached with rows whose copy runs (by OID): the offsets say so ({@link #fingerprint()})
     * until the copy's last row, so a restart before that copies them again.
     */
    private final Map<Long, Copy> copying = new LinkedHashMap<>();
    /** Copies asked for and not yet taken by the task ({@link #takeCopiesToStart}). */
    private final java.util.Deque<Copy> copiesToStart = new java.util.ArrayDeque<>();
    /** Copies stopped (their leaf left the table) and not yet taken by the task ({@link #takeCopiesToStop}). */
    private final java.util.Deque<Long> copiesToStop = new java.util.ArrayDeque<>();
    /** The last copy's id: a leaf copied, stopped and copied again has two. */
    private long lastCopyId;
    /** Per leaf being copied at the stream's request, the commit LSN of the message that asked (see {@link #confirmationHold}). */
    private final Map<Long, Long> holds = new LinkedHashMap<>();
    /** No hold on the slot's confirmation. */
    public static final long NO_HOLD = -1L;

    private PartitionWatch(Map<String, TableId> roots, TruncateHandling truncateHandling,
                           Set<TableId> snapshottedFromTheStart, boolean inStream,
                           Map<String, Map<Long, PartitionLeaves.Leaf>> known, String knownXmin) {
        this.knownXmin = knownXmin;
        this.roots = roots;
        this.truncateHandling = truncateHandling;
        this.snapshottedFromTheStart = snapshottedFromTheStart;
        this.inStream = inStream;
        this.known = known;
    }

    /**
     * The watch over {@code partitioned}, whose leaves as they are now are the reference; null
     * when there is no partitioned table to watch.
     *
     * @param inStream the server writes and streams logical messages (the stream is opened with them)
     */
    public static PartitionWatch open(Connection connection, List<TableId> partitioned, TruncateHandling handling,
                                      Set<TableId> snapshottedFromTheStart, boolean inStream) throws SQLException {
        return open(connection, partitioned, handling, snapshottedFromTheStart, inStream, null, Map.of());
    }

    /**
     * The same, compared first with the partitions the committed offset of the slot was made with
     * ({@link #fingerprint()}; null when it has none), else, table by table, with those its
     * snapshot's committed offset was made with ({@code tableFingerprints}, see
     * {@link #withPartitions}: before the stream's first record is committed, a table's
     * snapshot records are the only ones): what changed while no task ran is acted on now,
     * before the stream, as a change seen before this run's snapshots.
     */
    public static PartitionWatch open(Connection connection, List<TableId> partitioned, TruncateHandling handling,
                                      Set<TableId> snapshottedFromTheStart, boolean inStream,
                                      String committedFingerprint, Map<TableId, String> tableFingerprints)
            throws SQLException {
        if (partitioned.isEmpty()) {
            return null;
        }
        Map<String, TableId> roots = new LinkedHashMap<>();
        for (TableId id : partitioned) {
            roots.put(id.quoted(), id);
        }
        String xmin = PartitionLeaves.lookXmin(connection);
        Map<String, Map<Long, PartitionLeaves.Leaf>> leaves = PartitionLeaves.read(connection, List.copyOf(roots.keySet()));
        log.info("Watching the partitions of {} partitioned table(s) for ATTACH, DETACH, DROP and TRUNCATE of a "
                + "partition, which the stream does not carry", roots.size());
        PartitionWatch watch = new PartitionWatch(roots, handling, Set.copyOf(snapshottedFromTheStart), inStream,
                leaves, xmin);
        Map<String, PartitionFingerprint.Look> lookByRoot = new LinkedHashMap<>();
        for (Map.Entry<String, TableId> root : roots.entrySet()) {
            String text = committedFingerprint != null ? committedFingerprint : tableFingerprints.get(root.getValue());
            if (text != null) {
                lookByRoot.put(root.getKey(), PartitionFingerprint.decode(text));
            }
        }
        List<Change> changes = new ArrayList<>();
        for (Map.Entry<String, PartitionFingerprint.Look> entry : lookByRoot.entrySet()) {
            PartitionFingerprint.Look before = entry.getValue();
            Map<Long, PartitionLeaves.Leaf> then = before.byTable().get(roots.get(entry.getKey()).toString());
            if (then != null) {
                watch.compare(connection, entry.getKey(), then, leaves.getOrDefault(entry.getKey(), Map.of()),
                        before.xmin(), changes);
            }
        }
        if (!changes.isEmpty()) {
            log.info("Partition change(s) made since the committed offset, while no task streamed: {}", changes);
            watch.act(changes, false, NO_HOLD);
        }
        for (Map.Entry<String, PartitionFingerprint.Look> entry : lookByRoot.entrySet()) {
            watch.copyAgainWhatWasBeingCopied(entry.getValue(), leaves, changes, roots.get(entry.getKey()));
        }
        return watch;
    }

    /**
     * Leaves whose copy the committed offset says was still running are copied again from their
     * start (the rows already sent come again); not those that changed meanwhile (detached,
     * dropped, attached anew: {@code changes} acted on them), nor a table this run snapshots
     * from the start.
     */
    private void copyAgainWhatWasBeingCopied(PartitionFingerprint.Look before,
                                             Map<String, Map<Long, PartitionLeaves.Leaf>> now, List<Change> changes,
                                             TableId of) {
        for (Map.Entry<String, java.util.List<Long>> entry : before.copying().entrySet()) {
            for (Map.Entry<String, TableId> root : roots.entrySet()) {
                if (!root.getValue().equals(of) || !root.getValue().toString().equals(entry.getKey())) {
                    continue;
                }
                Map<Long, PartitionLeaves.Leaf> leaves = now.getOrDefault(root.getKey(), Map.of());
                for (long oid : entry.getValue()) {
                    PartitionLeaves.Leaf leaf = leaves.get(oid);
                    boolean changed = changes.stream().anyMatch(c -> c.oid() == oid);
                    if (leaf == null || changed || snapshottedFromTheStart.contains(root.getValue())) {
                        continue;
                    }
                    log.info("Table {}: the copy of partition {} had not ended when the task stopped; it is copied "
                            + "again from its start", root.getValue(), leaf.id());
                    askForCopy(new Change(Kind.ATTACHED_WITH_ROWS, root.getValue(), leaf.id(), leaf.bound(), null,
                            oid), NO_HOLD);
                }
            }
        }
    }

    /**
     * {@code record} with the partitions as this watch knows them now ({@link #fingerprint()}) in
     * its offset when it is a snapshot record of a watched table ({@code {"table": ...}}); any
     * other record as it is. So a table whose snapshot records are committed, but no record of
     * the stream yet, still has partitions to compare with at the next start.
     */
    public org.apache.kafka.connect.source.SourceRecord withPartitions(org.apache.kafka.connect.source.SourceRecord record) {
        Map<String, ?> partition = record.sourcePartition();
        if (partition == null || partition.size() != 1 || record.sourceOffset() == null
                || !(partition.get(dev.pgkeyset.connect.offset.TablePartition.TABLE) instanceof String table)
                || roots.values().stream().noneMatch(root -> root.toString().equals(table))) {
            return record;
        }
        Map<String, Object> offset = new LinkedHashMap<>(record.sourceOffset());
        offset.put(dev.pgkeyset.connect.offset.WalOffset.PARTITIONS, fingerprint());
        return new org.apache.kafka.connect.source.SourceRecord(partition, offset, record.topic(),
                record.kafkaPartition(), record.keySchema(), record.key(), record.valueSchema(), record.value(),
                record.timestamp(), record.headers());
    }

    /** Whether leaves attached with rows can be copied here: the copy needs the stream's watermarks. */
    public boolean copiesLeaves() {
        return inStream;
    }

    /**
     * The copies of leaves asked for since the last call, for the task to start (in the stream's
     * order: a copy's first chunk is taken after the stream delivered what asked for it).
     */
    public List<Copy> takeCopiesToStart() {
        if (copiesToStart.isEmpty()) {
            return List.of(); // asked at every poll
        }
        List<Copy> copies = List.copyOf(copiesToStart);
        copiesToStart.clear();
        return copies;
    }

    /**
     * The ids of copies stopped since the last call because their leaf left the table (detached
     * or dropped): the task drops what is left of them. A copy that goes on would read the leaf
     * again from where it was if it came back, missing what changed below that while it was out.
     */
    public List<Long> takeCopiesToStop() {
        if (copiesToStop.isEmpty()) {
            return List.of();
        }
        List<Long> ids = List.copyOf(copiesToStop);
        copiesToStop.clear();
        return ids;
    }

    /**
     * The last row of copy {@code id} of leaf {@code oid} is about to go: the offsets from its
     * record on no longer say the leaf is being copied. A copy stopped before is passed over.
     */
    public void copied(long oid, long id) {
        Copy copy = copying.get(oid);
        if (copy == null || copy.id() != id) {
            return;
        }
        copying.remove(oid);
        holds.remove(oid);
        fingerprint = null;
        log.info("Table {}: partition {} copied; its rows are in the topic", copy.change().table(),
                copy.change().partition());
    }

    /** The leaf of a change left the table (detached, dropped): its copy, if one runs, stops. */
    private void stopCopyOf(Change change) {
        Copy copy = copying.remove(change.oid());
        if (copy == null) {
            return;
        }
        holds.remove(change.oid());
        copiesToStart.removeIf(c -> c.id() == copy.id());
        copiesToStop.addLast(copy.id());
        fingerprint = null;
        log.info("Table {}: the copy of partition {} stops, it {} (its rows sent so far stay); copied again from its "
                + "start if it comes back", change.table(), change.partition(),
                change.kind() == Kind.DROPPED ? "was dropped" : "left the table");
    }

    /**
     * @param holdAt the commit LSN of the stream's message that asked for the copy, which the slot
     *               must keep until the copy is done ({@link #confirmationHold}); {@link #NO_HOLD}
     *               for a copy the committed offsets asked for (they keep asking until it is done)
     */
    private void askForCopy(Change change, long holdAt) {
        if (copying.containsKey(change.oid())) {
            log.info("Table {}: partition {} is being copied already", change.table(), change.partition());
            return;
        }
        Copy copy = new Copy(change, ++lastCopyId);
        copying.put(change.oid(), copy);
        if (holdAt != NO_HOLD) {
            holds.put(change.oid(), holdAt);
        }
        copiesToStart.addLast(copy);
        fingerprint = null;
    }

    /**
     * The position the slot may be confirmed up to at most while copies asked for by the stream
     * run, or {@link #NO_HOLD}. Until a copy's records carry it in their offsets and are
     * committed, the copy is known only from the message that asked for it: confirmed past it, a
     * restart would meet neither that message nor an offset that says a copy runs. Held at the
     * message's commit LSN, the slot sends the message again; released when the copy's last
     * record is made, whose transaction the slot is confirmed past only once every record of the
     * copy is acknowledged.
     */
    public long confirmationHold() {
        long hold = NO_HOLD;
        for (long lsn : holds.values()) {
            if (hold == NO_HOLD || Long.compareUnsigned(lsn, hold) < 0) {
                hold = lsn;
            }
        }
        return hold;
    }

    /**
     * The partitions as the watch knows them, for the slot's offsets: a task that starts from
     * such an offset compares them with the catalog, so changes made while no task ran are seen.
     * Known here at least as early as the stream reaches them (a look sees a change before the
     * stream delivers its message), so an offset never claims partitions newer than it covers
     * without that message still to come from the slot.
     */
    public String fingerprint() {
        if (fingerprint == null) {
            Map<String, Map<Long, PartitionLeaves.Leaf>> byTable = new LinkedHashMap<>();
            known.forEach((root, leaves) -> byTable.put(roots.get(root).toString(), leaves));
            Map<String, List<Long>> copies = new LinkedHashMap<>();
            copying.values().forEach(c -> copies.computeIfAbsent(c.change().table().toString(),
                    t -> new ArrayList<>()).add(c.change().oid()));
            fingerprint = PartitionFingerprint.encode(knownXmin, byTable, copies);
        }
        return fingerprint;
    }

    /** Whether the stream must be opened with logical messages for this watch. */
    public boolean inStream() {
        return inStream;
    }

    /**
     * Compares the tables' leaves with the last look; a change is written to the WAL as a message
     * (or, without messages, acted on now). Throws the task's failure when acted on now.
     */
    public void check(Connection connection) throws SQLException {
        String xmin = PartitionLeaves.lookXmin(connection);
        Map<String, Map<Long, PartitionLeaves.Leaf>> now = PartitionLeaves.read(connection, List.copyOf(roots.keySet()));
        List<Change> changes = new ArrayList<>();
        for (Map.Entry<String, Map<Long, PartitionLeaves.Leaf>> entry : now.entrySet()) {
            Map<Long, PartitionLeaves.Leaf> before = known.getOrDefault(entry.getKey(), Map.of());
            compare(connection, entry.getKey(), before, entry.getValue(), knownXmin, changes);
        }
        if (inStream && !changes.isEmpty()) {
            emit(connection, changes);
        }
        known = now;
        knownXmin = xmin;
        fingerprint = null;
        if (changes.isEmpty()) {
            return;
        }
        if (!inStream) {
            act(changes, true, NO_HOLD);
        }
    }

    /**
     * @param beforeXmin the xmin of the look that saw {@code before}
     */
    private void compare(Connection connection, String root, Map<Long, PartitionLeaves.Leaf> before,
                         Map<Long, PartitionLeaves.Leaf> now, String beforeXmin, List<Change> changes)
            throws SQLException {
        TableId table = roots.get(root);
        for (PartitionLeaves.Leaf leaf : now.values()) {
            PartitionLeaves.Leaf old = before.get(leaf.oid());
            if (old == null) {
                if (PartitionLeaves.holdsRows(connection, leaf)) {
                    changes.add(new Change(Kind.ATTACHED_WITH_ROWS, table, leaf.id(), leaf.bound(), null, leaf.oid()));
                } else {
                    log.info("Table {}: partition {} ({}) joined it empty; its rows are streamed", table, leaf.id(),
                            leaf.bound());
                }
                continue;
            }
            if (relinked(old, leaf)) {
                // Detached and attached again between two looks: what changed meanwhile was not streamed.
                changes.add(new Change(PartitionLeaves.holdsRows(connection, leaf)
                        ? Kind.REATTACHED_WITH_ROWS : Kind.DETACHED, table, leaf.id(), leaf.bound(), null, leaf.oid()));
            }
            if (old.relfilenode() != leaf.relfilenode()) {
                if (beforeXmin != null && PartitionLeaves.keptRowsOlderThan(connection, leaf, beforeXmin)) {
                    log.info("Table {}: partition {} was rewritten (VACUUM FULL, CLUSTER or a rewriting ALTER "
                            + "TABLE: a new file that kept its rows)", table, leaf.id());
                } else {
                    changes.add(new Change(Kind.TRUNCATED, table, leaf.id(), leaf.bound(), leaf.classXmin(),
                            leaf.oid()));
                }
            }
        }
        for (PartitionLeaves.Leaf old : before.values()) {
            if (!now.containsKey(old.oid())) {
                changes.add(new Change(PartitionLeaves.exists(connection, old.oid()) ? Kind.DETACHED : Kind.DROPPED,
                        table, old.id(), old.bound(), null, old.oid()));
            }
        }
    }

    /** A new newest pg_inherits link (not just the same one frozen): detached and attached again. */
    private static boolean relinked(PartitionLeaves.Leaf old, PartitionLeaves.Leaf now) {
        return old.link() != null && now.link() != null && !old.link().equals(now.link())
                && !PartitionLeaves.FROZEN_XID.equals(now.link());
    }

    private void emit(Connection connection, List<Change> changes) throws SQLException {
        ObjectNode message = JSON.createObjectNode();
        message.put("run", runId);
        ArrayNode list = message.putArray("changes");
        for (Change change : changes) {
            ObjectNode node = list.addObject();
            node.put("kind", change.kind().name());
            node.put("schema", change.table().schema());
            node.put("table", change.table().table());
            node.put("partition_schema", change.partition().schema());
            node.put("partition", change.partition().table());
            node.put("bound", change.bound());
            node.put("oid", change.oid());
            if (change.classXmin() != null) {
                node.put("class_xmin", change.classXmin());
            }
        }
        boolean autoCommit = connection.getAutoCommit();
        try (PreparedStatement st = connection.prepareStatement(
                "SELECT pg_catalog.pg_logical_emit_message(true, ?, CAST(? AS pg_catalog.text))")) {
            st.setString(1, PREFIX);
            st.setString(2, message.toString());
            st.execute();
        }
        if (!autoCommit) {
            connection.commit();
        }
        log.info("Partition change(s) seen, acted on where the stream reaches them: {}", changes);
    }

    /** Whether a logical message of the stream is one of this watch's (of any run). */
    public static boolean isMarker(PgOutputMessage.LogicalMessage message) {
        return PREFIX.equals(message.prefix());
    }

    /**
     * The stream delivered a partition message: everything committed before the look that wrote
     * it was delivered before it. Throws the task's failure where that is what the change needs.
     */
    public void onMarker(PgOutputMessage.LogicalMessage message, long commitLsn) {
        JsonNode node;
        try {
            node = JSON.readTree(new String(message.content(), StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            log.warn("A logical message with prefix {} that is not a partition change was passed over: {}", PREFIX,
                    e.getMessage());
            return;
        }
        List<Change> changes = new ArrayList<>();
        for (JsonNode change : node.path("changes")) {
            TableId table = new TableId(change.path("schema").asText(), change.path("table").asText());
            if (!roots.containsValue(table)) {
                continue; // another connector's table, or one no longer captured
            }
            changes.add(new Change(Kind.valueOf(change.path("kind").asText()), table,
                    new TableId(change.path("partition_schema").asText(), change.path("partition").asText()),
                    change.path("bound").asText(), change.hasNonNull("class_xmin")
                            ? change.path("class_xmin").asText() : null, change.path("oid").asLong(0)));
        }
        act(changes, runId.equals(node.path("run").asText()), commitLsn);
    }

    /** The stream delivered a TRUNCATE of the whole table by {@code xid}: its leaves' new files are that truncate. */
    public void tableTruncatedInStream(TableId table, long xid) {
        if (roots.containsValue(table)) {
            java.util.Deque<String> xids = truncatedInStream.computeIfAbsent(table, t -> new java.util.ArrayDeque<>());
            xids.addLast(Long.toString(xid));
            if (xids.size() > TRUNCATES_REMEMBERED) {
                xids.removeFirst();
            }
        }
    }

    /** @param holdAt where the slot must stay while a copy this asks for runs ({@link #askForCopy}) */
    private void act(List<Change> changes, boolean thisRun, long holdAt) {
        for (Change change : changes) {
            if (!thisRun && snapshottedFromTheStart.contains(change.table())) {
                log.info("Table {}: {} of partition {} was seen before this run's snapshot of the table began, "
                        + "which reads the table as it is now; nothing more to do", change.table(),
                        describe(change.kind()), change.partition());
                continue;
            }
            if (change.kind() == Kind.TRUNCATED && change.classXmin() != null && truncatedInStream
                    .getOrDefault(change.table(), new java.util.ArrayDeque<>()).contains(change.classXmin())) {
                continue; // TRUNCATE of the whole table, delivered as such
            }
            if (change.kind() == Kind.ATTACHED_WITH_ROWS && inStream && change.oid() != 0) {
                // Its rows never were in the WAL: copied through the table, in stream order from here.
                askForCopy(change, holdAt);
                continue;
            }
            if (change.kind() == Kind.DETACHED || change.kind() == Kind.DROPPED
                    || change.kind() == Kind.REATTACHED_WITH_ROWS) {
                stopCopyOf(change);
            }
            if (change.kind() == Kind.ATTACHED_WITH_ROWS || change.kind() == Kind.REATTACHED_WITH_ROWS) {
                throw new ConnectException("Table " + change.table() + ": partition " + change.partition() + " ("
                        + change.bound() + ") was " + describe(change.kind()) + "; the WAL carries no change for "
                        + (change.kind() == Kind.ATTACHED_WITH_ROWS ? "them, so they never reached the topic"
                        : "what changed while it was out of the table, so that never reached the topic") + ". Snapshot the table again: stop the connector, "
                        + "delete the table's offset (PATCH /connectors/<name>/offsets with {\"partition\": "
                        + "{\"table\": \"" + change.table() + "\"}, \"offset\": null}), start it. Nothing after the "
                        + "attachment was confirmed to the slot.");
            }
            String what = "Table " + change.table() + ": partition " + change.partition()
                    + (change.bound() == null || change.bound().isEmpty() ? "" : " (" + change.bound() + ")") + " was " + describe(change.kind()) + ", which the WAL does not carry as row changes: the "
                    + "topic may still hold that partition's rows";
            switch (truncateHandling) {
                case FAIL -> throw new ConnectException(what + " (truncate.handling=fail). Snapshot the table again "
                        + "(delete its offset with PATCH /connectors/<name>/offsets, a consumer then drops the keys "
                        + "it no longer gets), or set truncate.handling=event or skip to go on with a warning, then "
                        + "restart the task.");
                case EVENT, SKIP -> log.warn("{}; no record is sent for it (a truncate record would say the whole "
                        + "table was emptied). Consumers that must drop those rows can use the partition's bounds; "
                        + "truncate.handling=fail stops the task instead.", what);
            }
        }
    }

    private static String describe(Kind kind) {
        return switch (kind) {
            case ATTACHED_WITH_ROWS -> "attached with rows";
            case REATTACHED_WITH_ROWS -> "detached and attached again with rows";
            case DETACHED -> "detached";
            case DROPPED -> "dropped";
            case TRUNCATED -> "truncated";
        };
    }
}

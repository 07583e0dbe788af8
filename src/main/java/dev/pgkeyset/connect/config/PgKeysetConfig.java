package dev.pgkeyset.connect.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigDef.Width;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

import dev.pgkeyset.connect.pg.TableId;

/** The connector's configuration: one {@link ConfigDef} and typed accessors. */
public class PgKeysetConfig extends AbstractConfig {

    private static final String GROUP_CONNECTION = "Connection";
    private static final String GROUP_TABLES = "Tables";
    private static final String GROUP_READING = "Reading";
    private static final String GROUP_TYPES = "Types";
    private static final String GROUP_WAL = "WAL capture";

    public static final String CONNECTION_URL = "connection.url";
    public static final String CONNECTION_URL_DOC = "JDBC URL of the PostgreSQL database, "
            + "'jdbc:postgresql://host:port/database[?params]'. TLS and other driver settings go in the URL "
            + "parameters (e.g. 'sslmode=verify-full').";

    public static final String CONNECTION_USER = "connection.user";
    public static final String CONNECTION_USER_DOC = "Database user. Needs CONNECT on the database, USAGE on "
            + "the schemas and SELECT on the captured tables; capture.mode=wal also needs REPLICATION (or superuser) "
            + "and, with publication.autocreate=filtered, CREATE on the database and ownership of the captured tables.";

    public static final String CONNECTION_PASSWORD = "connection.password";
    public static final String CONNECTION_PASSWORD_DOC = "Password of 'connection.user'. Never logged; masked in "
            + "the REST API.";

    public static final String CONNECTION_SOCKET_TIMEOUT_MS = "connection.socket.timeout.ms";
    public static final String CONNECTION_SOCKET_TIMEOUT_MS_DOC = "Longest a connector session waits for the "
            + "database to send anything (pgjdbc's socketTimeout, rounded up to whole seconds; 0 waits forever). "
            + "Without it a network that stops passing bytes blocks poll() and stop() for good. It must exceed the "
            + "longest silence of a legitimate query: the first row of a change query that sorts (no index leads "
            + "with the tracking column), a wait for a table lock behind DDL. When it passes, the connection is "
            + "dropped and the table retries (connection.attempts). A socketTimeout in connection.url wins.";
    public static final long CONNECTION_SOCKET_TIMEOUT_MS_DEFAULT = 300_000L;

    public static final String TABLE_INCLUDE_LIST = "table.include.list";
    public static final String TABLE_INCLUDE_LIST_DOC = "Comma-separated regular expressions matched against "
            + "'schema.table' (the whole name must match). Tables, partitioned tables (captured through their "
            + "parent, never partition by partition), views and materialized views are candidates; views need "
            + "'key.columns' (capture.mode=query only: a publication holds tables only).";

    public static final String TABLE_EXCLUDE_LIST = "table.exclude.list";
    public static final String TABLE_EXCLUDE_LIST_DOC = "Comma-separated regular expressions on 'schema.table'; "
            + "a table matching one is not captured even if it matches the include list.";
    public static final String TABLE_EXCLUDE_LIST_DEFAULT = "";

    public static final String TOPIC_PREFIX = "topic.prefix";
    public static final String TOPIC_PREFIX_DOC = "A table's records go to '<topic.prefix>.<schema>.<table>'. "
            + "Characters Kafka does not allow in topic names (outside [A-Za-z0-9._-]) become '_'.";

    public static final String TABLE_DISCOVERY_INTERVAL_MS = "table.discovery.interval.ms";
    public static final String TABLE_DISCOVERY_INTERVAL_MS_DOC = "How often the connector looks for tables that "
            + "started or stopped matching the include list (created, dropped, renamed); on a change the tasks are "
            + "reconfigured. 0 lists the tables only at start.";
    public static final long TABLE_DISCOVERY_INTERVAL_MS_DEFAULT = 60_000L;

    public static final String KEY_COLUMNS = "key.columns";
    public static final String KEY_COLUMNS_DOC = "Keyset key per table, as 'schema.table:col1|col2' entries. "
            + "Required for tables without a primary key and for views; overrides the primary key otherwise. "
            + "The columns must be unique together and never NULL.";
    public static final String KEY_COLUMNS_DEFAULT = "";

    public static final String SNAPSHOT_MODE = "snapshot.mode";
    public static final String SNAPSHOT_MODE_DOC = "'initial': copy each table, then follow its changes; "
            + "'initial_only': copy each table, then stay idle; 'never': follow changes only. 'initial' and "
            + "'never' need a tracking column for every captured table with capture.mode=query; capture.mode=wal "
            + "needs none (it streams from a replication slot; 'initial_only' uses no slot).";
    public static final String SNAPSHOT_MODE_DEFAULT = SnapshotMode.INITIAL.configName();

    public static final String INCREMENTAL_COLUMN = "incremental.column";
    public static final String INCREMENTAL_COLUMN_DOC = "capture.mode=query (ignored by 'wal', with a warning): "
            + "default tracking column (e.g. 'updated_at') for every captured table that has a column of this name. "
            + "The change phase reads rows in (tracking column, key) order. It must be set by the database: a timestamptz, timestamp or date column from its clock "
            + "('DEFAULT now()' and an update trigger), or an integer column from a sequence ('DEFAULT nextval(...)').";

    public static final String INCREMENTAL_COLUMNS = "incremental.columns";
    public static final String INCREMENTAL_COLUMNS_DOC = "Per-table tracking column, as 'schema.table:column' "
            + "entries; overrides 'incremental.column'.";

    public static final String INCREMENTAL_START = "incremental.start";
    public static final String INCREMENTAL_START_DOC = "Where the change phase of snapshot.mode=never starts: "
            + "'earliest' (every row, in tracking order) or 'now' (rows whose tracking value is at or after the "
            + "moment the table is first read).";
    public static final String INCREMENTAL_START_DEFAULT = IncrementalStart.EARLIEST.configName();

    public static final String SOFT_DELETE_COLUMN = "soft.delete.column";
    public static final String SOFT_DELETE_COLUMN_DOC = "Name of a column marking deleted rows, in every captured "
            + "table that has it: a boolean (true = deleted) or a timestamp/date (non-NULL = deleted). A deleted row "
            + "is sent as a tombstone (null value) with header pgkeyset.op=d. capture.mode=query only: 'wal' refuses "
            + "it (a hard DELETE is the tombstone there).";
    public static final String INCREMENTAL_COLUMNS_DEFAULT = "";

    public static final String FETCH_SIZE = "fetch.size";
    public static final String FETCH_SIZE_DOC = "Most rows fetched per round trip of the server-side cursor. "
            + "Fewer when the rows are wide: each round trip also holds about batch.max.bytes, its size learned "
            + "from the width of the rows before it, and never more than a quarter of the worker's heap (a fetch of "
            + "wider rows is stopped there and read again one row at a time).";
    public static final int FETCH_SIZE_DEFAULT = 5000;

    public static final String BATCH_MAX_ROWS = "batch.max.rows";
    public static final String BATCH_MAX_ROWS_DOC = "Most records one poll() hands to Kafka Connect.";
    public static final int BATCH_MAX_ROWS_DEFAULT = 5000;

    public static final String BATCH_MAX_BYTES = "batch.max.bytes";
    public static final String BATCH_MAX_BYTES_DOC = "Most bytes of record data one poll() hands to Kafka "
            + "Connect, and about the most one round trip of a cursor holds, counted as JsonConverter writes them "
            + "(UTF-8 text, base64 binary, keys included). A single row larger than this still goes out, alone in "
            + "its batch.";
    public static final long BATCH_MAX_BYTES_DEFAULT = 8L * 1024 * 1024;

    public static final String POLL_INTERVAL_MS = "poll.interval.ms";
    public static final String POLL_INTERVAL_MS_DOC = "Wait between two change queries of a table once it is "
            + "caught up (and between polls when a task has nothing to read).";
    public static final long POLL_INTERVAL_MS_DEFAULT = 1000L;

    public static final String CONNECTION_ATTEMPTS = "connection.attempts";
    public static final String CONNECTION_ATTEMPTS_DOC = "Transient database errors (connection lost, server "
            + "restarting, serialization failure, too many connections, statement timeout) a table survives without "
            + "reading a row in between before the task fails with the last one; likewise the connector listing the "
            + "tables at its start, for 15 s at most. Between attempts the task waits with exponential backoff and "
            + "jitter.";
    public static final int CONNECTION_ATTEMPTS_DEFAULT = 10;

    public static final String RETRY_BACKOFF_MS = "retry.backoff.ms";
    public static final String RETRY_BACKOFF_MS_DOC = "Wait after the first transient error; doubled after each "
            + "further one in a row (±50 % jitter), up to retry.backoff.max.ms.";
    public static final long RETRY_BACKOFF_MS_DEFAULT = 1000L;

    public static final String RETRY_BACKOFF_MAX_MS = "retry.backoff.max.ms";
    public static final String RETRY_BACKOFF_MAX_MS_DOC = "Longest wait between two attempts.";
    public static final long RETRY_BACKOFF_MAX_MS_DEFAULT = 60_000L;

    public static final String CURSOR_MAX_AGE_MS = "cursor.max.age.ms";
    public static final String CURSOR_MAX_AGE_MS_DOC = "A cursor (and its transaction) older than this is "
            + "closed and reopened at the last key read, so a long snapshot never holds back VACUUM for hours.";
    public static final long CURSOR_MAX_AGE_MS_DEFAULT = 300_000L;

    public static final String NUMERIC_MAPPING = "numeric.mapping";
    public static final String NUMERIC_MAPPING_DOC = "How 'numeric' columns are represented: 'precise' "
            + "(Connect Decimal where the column declares its scale, the exact decimal string where it does not), "
            + "'double' (FLOAT64, may round) or 'string' (exact decimal string).";
    public static final String NUMERIC_MAPPING_DEFAULT = NumericMapping.PRECISE.configName();

    public static final String TIME_PRECISION_MODE = "time.precision.mode";
    public static final String TIME_PRECISION_MODE_DOC = "How time, timestamp and timestamptz values are "
            + "represented: 'connect' (Connect Time/Timestamp logical types, milliseconds, understood by every sink), "
            + "'micros' (INT64 microseconds since the epoch, or of the day for time; schema names "
            + "dev.pgkeyset.time.MicroTimestamp / MicroTime) or 'string' (PostgreSQL's text form with microseconds). "
            + "Source offsets keep microseconds in every mode.";
    public static final String TIME_PRECISION_MODE_DEFAULT = TimePrecisionMode.CONNECT.configName();

    public static final String CAPTURE_MODE = "capture.mode";
    public static final String CAPTURE_MODE_DOC = "Where changes come from: 'query' (rows whose tracking column moved, "
            + "read by query; no hard deletes) or 'wal' (every insert, update and delete from PostgreSQL's logical "
            + "replication stream through the built-in pgoutput plugin; needs wal_level=logical, a role with "
            + "REPLICATION, and no tracking column).";
    public static final String CAPTURE_MODE_DEFAULT = CaptureMode.QUERY.configName();

    public static final String SLOT_NAME = "slot.name";
    public static final String SLOT_NAME_DOC = "Logical replication slot (pgoutput) of capture.mode=wal; created when "
            + "missing, an existing one is used as it is. Default: 'pgkeyset_' and the connector's name (lower case, "
            + "other characters as '_'). The slot keeps WAL until the connector confirms it: drop it when you remove "
            + "the connector (SELECT pg_drop_replication_slot('<slot>')).";

    public static final String PUBLICATION_NAME = "publication.name";
    public static final String PUBLICATION_NAME_DOC = "The publication the slot streams (capture.mode=wal). Default: "
            + "the same name as the slot's default.";

    public static final String PUBLICATION_AUTOCREATE = "publication.autocreate";
    public static final String PUBLICATION_AUTOCREATE_DOC = "'filtered': the connector creates the publication and "
            + "keeps it equal to the captured tables (it must own the tables, or be superuser); 'disabled': the "
            + "publication must exist, publish every captured table, and is used as it is.";
    public static final String PUBLICATION_AUTOCREATE_DEFAULT = PublicationAutocreate.FILTERED.configName();

    public static final String HEARTBEAT_INTERVAL_MS = "heartbeat.interval.ms";
    public static final String HEARTBEAT_INTERVAL_MS_DOC = "capture.mode=wal: while no captured table changes, how "
            + "often the slot's confirmed position is moved up to the server's (and, where that alone does not move "
            + "it, a logical message is written with pg_logical_emit_message), so WAL written by other tables or "
            + "databases does not pile up behind the slot. 0 turns the heartbeat message off.";
    public static final long HEARTBEAT_INTERVAL_MS_DEFAULT = 10_000L;
    public static final String CATALOG_CHECK_INTERVAL_MS = "catalog.check.interval.ms";
    public static final String CATALOG_CHECK_INTERVAL_MS_DOC = "capture.mode=wal: how often the task samples its "
            + "slot (the lag and retained-WAL metrics) and looks in the catalog for what the WAL does not carry: a "
            + "captured table taken out of the publication, and partition maintenance of a captured partitioned "
            + "table (ATTACH, DETACH, DROP or TRUNCATE of a partition). Shorter sees these sooner, at the cost of a "
            + "few catalog queries per look.";
    public static final long CATALOG_CHECK_INTERVAL_MS_DEFAULT = 5_000L;
    public static final String SNAPSHOT_CHUNK_SIZE = "snapshot.chunk.size";
    public static final String SNAPSHOT_CHUNK_SIZE_DOC = "capture.mode=wal: most rows one snapshot chunk reads (one "
            + "short transaction, one watermark in the WAL); a chunk also stops at batch.max.bytes. The snapshot "
            + "runs beside the stream, a chunk at a time, so no transaction lasts longer than one chunk's query.";
    public static final int SNAPSHOT_CHUNK_SIZE_DEFAULT = 4096;
    public static final String SNAPSHOT_CHUNKED = "snapshot.chunked";
    public static final String SNAPSHOT_CHUNKED_DOC = "capture.mode=wal: true reads each table's snapshot in "
            + "watermarked chunks while the slot streams (PostgreSQL 14+ on a primary; the slot keeps moving, and no "
            + "record is older than one delivered before it for the same key); false, and on servers that cannot "
            + "(PostgreSQL 13, a standby), every snapshot runs first and the stream after it, the slot holding the WAL "
            + "written meanwhile.";

    public static final String RECORD_FORMAT = "record.format";
    public static final String RECORD_FORMAT_DOC = "What a record's value holds. 'row': the row's columns as a flat "
            + "Struct named <topic>.Value (a delete is a tombstone). 'envelope': Debezium's change-event envelope, a "
            + "Struct named <topic>.Envelope with before and after (the row as in 'row', either may be null), source "
            + "(io.debezium.connector.postgresql.Source: connector, name = topic.prefix, db, schema, table, txId, lsn, "
            + "...), op (r snapshot read, c insert, u update, d delete, t truncate) and ts_ms; in capture.mode=query a "
            + "change is always op u with a null before (an insert cannot be told from an update there). The key and "
            + "the pgkeyset.* headers are the same in both.";
    public static final String RECORD_FORMAT_DEFAULT = RecordFormat.ROW.configName();

    public static final String TOMBSTONES_ON_DELETE = "tombstones.on.delete";
    public static final String TOMBSTONES_ON_DELETE_DOC = "record.format=envelope: whether a delete's op=d event is "
            + "followed by a tombstone (the key with a null value), so a compacted topic forgets the row. In "
            + "record.format=row the delete is the tombstone, always.";
    public static final boolean TOMBSTONES_ON_DELETE_DEFAULT = true;

    public static final String PROVIDE_TRANSACTION_METADATA = "provide.transaction.metadata";
    public static final String PROVIDE_TRANSACTION_METADATA_DOC = "capture.mode=wal: as Debezium's option of the "
            + "same name. true adds a BEGIN and an END event for each PostgreSQL transaction that changes a captured "
            + "table to the topic '<topic.prefix>.<topic.transaction>' (key: the transaction id; END counts the "
            + "transaction's events per table), and each change event its place in the transaction (the envelope's "
            + "'transaction' block in record.format=envelope; the headers pgkeyset.tx.id, pgkeyset.tx.total_order "
            + "and pgkeyset.tx.data_collection_order in record.format=row). Snapshot reads belong to no transaction.";
    public static final boolean PROVIDE_TRANSACTION_METADATA_DEFAULT = false;

    public static final String TOPIC_TRANSACTION = "topic.transaction";
    public static final String TOPIC_TRANSACTION_DOC = "With provide.transaction.metadata: the transaction topic is "
            + "'<topic.prefix>.<topic.transaction>', as in Debezium.";
    public static final String TOPIC_TRANSACTION_DEFAULT = "transaction";

    public static final String TRUNCATE_HANDLING = "truncate.handling";
    public static final String TRUNCATE_HANDLING_DOC = "capture.mode=wal: what a TRUNCATE of a captured table "
            + "becomes. 'event': one record on the table's topic with header pgkeyset.op=t and a null key and value "
            + "(a compacted topic refuses it: choose another); 'skip': nothing, with a warning naming the table; "
            + "'fail': the task fails naming the table. DETACH, DROP or TRUNCATE of one partition of a captured "
            + "partitioned table (which the WAL does not carry): 'fail' fails the task naming the partition, "
            + "'event' and 'skip' log a warning (no record: it would say the whole table was emptied).";
    public static final String TRUNCATE_HANDLING_DEFAULT = TruncateHandling.EVENT.configName();

    public static final ConfigDef CONFIG_DEF = configDef();

    public PgKeysetConfig(Map<String, String> props) {
        this(CONFIG_DEF, props);
    }

    protected PgKeysetConfig(ConfigDef definition, Map<String, String> props) {
        super(definition, props, false);
        // Cross-checks of the list formats, so a bad entry fails at start-up, naming the key.
        keyColumns();
        incrementalColumns();
        tableFilter();
        if (provideTransactionMetadata() && captureMode() != CaptureMode.WAL) {
            throw new ConfigException(PROVIDE_TRANSACTION_METADATA, true, "transaction metadata needs capture.mode="
                    + "wal: a query sees rows, not the transactions that wrote them. Set capture.mode=wal, or "
                    + PROVIDE_TRANSACTION_METADATA + "=false");
        }
    }

    private static ConfigDef configDef() {
        int order = 0;
        ConfigDef def = new ConfigDef();
        def.define(CONNECTION_URL, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new JdbcUrlValidator(),
                Importance.HIGH, CONNECTION_URL_DOC, GROUP_CONNECTION, ++order, Width.LONG, "JDBC URL");
        def.define(CONNECTION_USER, Type.STRING, null, Importance.HIGH, CONNECTION_USER_DOC,
                GROUP_CONNECTION, ++order, Width.MEDIUM, "User");
        def.define(CONNECTION_PASSWORD, Type.PASSWORD, null, Importance.HIGH, CONNECTION_PASSWORD_DOC,
                GROUP_CONNECTION, ++order, Width.MEDIUM, "Password");
        def.define(CONNECTION_SOCKET_TIMEOUT_MS, Type.LONG, CONNECTION_SOCKET_TIMEOUT_MS_DEFAULT,
                Range.between(0L, 86_400_000L), Importance.LOW, CONNECTION_SOCKET_TIMEOUT_MS_DOC, GROUP_CONNECTION,
                ++order, Width.SHORT, "Socket timeout");

        order = 0;
        def.define(TABLE_INCLUDE_LIST, Type.LIST, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString() {
                    @Override
                    public void ensureValid(String name, Object value) {
                        if (value == null || ((List<?>) value).isEmpty()) {
                            throw new ConfigException(name, value, "at least one pattern is required");
                        }
                    }

                    @Override
                    public String toString() {
                        return "non-empty list of regular expressions";
                    }
                }, Importance.HIGH, TABLE_INCLUDE_LIST_DOC, GROUP_TABLES, ++order, Width.LONG, "Include tables");
        def.define(TABLE_EXCLUDE_LIST, Type.LIST, TABLE_EXCLUDE_LIST_DEFAULT, Importance.MEDIUM,
                TABLE_EXCLUDE_LIST_DOC, GROUP_TABLES, ++order, Width.LONG, "Exclude tables");
        def.define(TOPIC_PREFIX, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString(),
                Importance.HIGH, TOPIC_PREFIX_DOC, GROUP_TABLES, ++order, Width.MEDIUM, "Topic prefix");
        def.define(TABLE_DISCOVERY_INTERVAL_MS, Type.LONG, TABLE_DISCOVERY_INTERVAL_MS_DEFAULT, Range.atLeast(0L),
                Importance.LOW, TABLE_DISCOVERY_INTERVAL_MS_DOC, GROUP_TABLES, ++order, Width.SHORT,
                "Table discovery interval");
        def.define(KEY_COLUMNS, Type.LIST, KEY_COLUMNS_DEFAULT, Importance.MEDIUM, KEY_COLUMNS_DOC,
                GROUP_TABLES, ++order, Width.LONG, "Key columns");

        order = 0;
        def.define(SNAPSHOT_MODE, Type.STRING, SNAPSHOT_MODE_DEFAULT,
                EnumValidator.of(SnapshotMode.names(), SnapshotMode::parse), Importance.HIGH, SNAPSHOT_MODE_DOC,
                GROUP_READING, ++order, Width.SHORT, "Snapshot mode");
        def.define(INCREMENTAL_COLUMN, Type.STRING, null, Importance.MEDIUM, INCREMENTAL_COLUMN_DOC,
                GROUP_READING, ++order, Width.MEDIUM, "Tracking column");
        def.define(INCREMENTAL_COLUMNS, Type.LIST, INCREMENTAL_COLUMNS_DEFAULT, Importance.MEDIUM,
                INCREMENTAL_COLUMNS_DOC, GROUP_READING, ++order, Width.LONG, "Tracking columns per table");
        def.define(INCREMENTAL_START, Type.STRING, INCREMENTAL_START_DEFAULT,
                EnumValidator.of(IncrementalStart.names(), IncrementalStart::parse), Importance.LOW,
                INCREMENTAL_START_DOC, GROUP_READING, ++order, Width.SHORT, "Change phase start");
        def.define(SOFT_DELETE_COLUMN, Type.STRING, null, Importance.MEDIUM, SOFT_DELETE_COLUMN_DOC,
                GROUP_READING, ++order, Width.MEDIUM, "Soft-delete column");
        def.define(FETCH_SIZE, Type.INT, FETCH_SIZE_DEFAULT, Range.between(1, 1_000_000), Importance.MEDIUM,
                FETCH_SIZE_DOC, GROUP_READING, ++order, Width.SHORT, "Fetch size");
        def.define(BATCH_MAX_ROWS, Type.INT, BATCH_MAX_ROWS_DEFAULT, Range.between(1, 1_000_000),
                Importance.MEDIUM, BATCH_MAX_ROWS_DOC, GROUP_READING, ++order, Width.SHORT, "Batch rows");
        def.define(BATCH_MAX_BYTES, Type.LONG, BATCH_MAX_BYTES_DEFAULT, Range.between(1024L, 1L << 31),
                Importance.MEDIUM, BATCH_MAX_BYTES_DOC, GROUP_READING, ++order, Width.SHORT, "Batch bytes");
        def.define(POLL_INTERVAL_MS, Type.LONG, POLL_INTERVAL_MS_DEFAULT, Range.between(10L, 3_600_000L),
                Importance.MEDIUM, POLL_INTERVAL_MS_DOC, GROUP_READING, ++order, Width.SHORT, "Poll interval");
        def.define(CONNECTION_ATTEMPTS, Type.INT, CONNECTION_ATTEMPTS_DEFAULT, Range.between(1, 1000),
                Importance.LOW, CONNECTION_ATTEMPTS_DOC, GROUP_READING, ++order, Width.SHORT, "Attempts");
        def.define(RETRY_BACKOFF_MS, Type.LONG, RETRY_BACKOFF_MS_DEFAULT, Range.between(1L, 3_600_000L),
                Importance.LOW, RETRY_BACKOFF_MS_DOC, GROUP_READING, ++order, Width.SHORT, "Retry backoff");
        def.define(RETRY_BACKOFF_MAX_MS, Type.LONG, RETRY_BACKOFF_MAX_MS_DEFAULT, Range.between(1L, 3_600_000L),
                Importance.LOW, RETRY_BACKOFF_MAX_MS_DOC, GROUP_READING, ++order, Width.SHORT, "Retry backoff max");
        def.define(CURSOR_MAX_AGE_MS, Type.LONG, CURSOR_MAX_AGE_MS_DEFAULT, Range.atLeast(1000L),
                Importance.LOW, CURSOR_MAX_AGE_MS_DOC, GROUP_READING, ++order, Width.SHORT, "Cursor max age");

        order = 0;
        def.define(NUMERIC_MAPPING, Type.STRING, NUMERIC_MAPPING_DEFAULT,
                EnumValidator.of(NumericMapping.names(), NumericMapping::parse), Importance.MEDIUM,
                NUMERIC_MAPPING_DOC, GROUP_TYPES, ++order, Width.SHORT, "Numeric mapping");
        def.define(TIME_PRECISION_MODE, Type.STRING, TIME_PRECISION_MODE_DEFAULT,
                EnumValidator.of(TimePrecisionMode.names(), TimePrecisionMode::parse), Importance.MEDIUM,
                TIME_PRECISION_MODE_DOC, GROUP_TYPES, ++order, Width.SHORT, "Time precision");
        def.define(RECORD_FORMAT, Type.STRING, RECORD_FORMAT_DEFAULT,
                EnumValidator.of(RecordFormat.names(), RecordFormat::parse), Importance.MEDIUM,
                RECORD_FORMAT_DOC, GROUP_TYPES, ++order, Width.SHORT, "Record format");
        def.define(TOMBSTONES_ON_DELETE, Type.BOOLEAN, TOMBSTONES_ON_DELETE_DEFAULT, Importance.LOW,
                TOMBSTONES_ON_DELETE_DOC, GROUP_TYPES, ++order, Width.SHORT, "Tombstones on delete");
        def.define(PROVIDE_TRANSACTION_METADATA, Type.BOOLEAN, PROVIDE_TRANSACTION_METADATA_DEFAULT,
                Importance.LOW, PROVIDE_TRANSACTION_METADATA_DOC, GROUP_TYPES, ++order, Width.SHORT,
                "Transaction metadata");
        def.define(TOPIC_TRANSACTION, Type.STRING, TOPIC_TRANSACTION_DEFAULT, new ConfigDef.NonEmptyString(),
                Importance.LOW, TOPIC_TRANSACTION_DOC, GROUP_TYPES, ++order, Width.MEDIUM, "Transaction topic");
        order = 0;
        def.define(CAPTURE_MODE, Type.STRING, CAPTURE_MODE_DEFAULT,
                EnumValidator.of(CaptureMode.names(), CaptureMode::parse), Importance.HIGH, CAPTURE_MODE_DOC,
                GROUP_WAL, ++order, Width.SHORT, "Capture mode");
        def.define(SLOT_NAME, Type.STRING, null, Importance.MEDIUM, SLOT_NAME_DOC, GROUP_WAL, ++order, Width.MEDIUM,
                "Slot");
        def.define(PUBLICATION_NAME, Type.STRING, null, Importance.MEDIUM, PUBLICATION_NAME_DOC, GROUP_WAL, ++order,
                Width.MEDIUM, "Publication");
        def.define(PUBLICATION_AUTOCREATE, Type.STRING, PUBLICATION_AUTOCREATE_DEFAULT,
                EnumValidator.of(PublicationAutocreate.names(), PublicationAutocreate::parse), Importance.MEDIUM,
                PUBLICATION_AUTOCREATE_DOC, GROUP_WAL, ++order, Width.SHORT, "Publication autocreate");
        def.define(HEARTBEAT_INTERVAL_MS, Type.LONG, HEARTBEAT_INTERVAL_MS_DEFAULT, Range.between(0L, 3_600_000L),
                Importance.LOW, HEARTBEAT_INTERVAL_MS_DOC, GROUP_WAL, ++order, Width.SHORT, "Heartbeat interval");
        def.define(CATALOG_CHECK_INTERVAL_MS, Type.LONG, CATALOG_CHECK_INTERVAL_MS_DEFAULT,
                Range.between(100L, 3_600_000L), Importance.LOW, CATALOG_CHECK_INTERVAL_MS_DOC, GROUP_WAL, ++order,
                Width.SHORT, "Catalog check interval");
        def.define(SNAPSHOT_CHUNK_SIZE, Type.INT, SNAPSHOT_CHUNK_SIZE_DEFAULT, Range.between(1, 1_000_000),
                Importance.LOW, SNAPSHOT_CHUNK_SIZE_DOC, GROUP_WAL, ++order, Width.SHORT, "Snapshot chunk size");
        def.define(SNAPSHOT_CHUNKED, Type.BOOLEAN, true, Importance.LOW, SNAPSHOT_CHUNKED_DOC, GROUP_WAL, ++order,
                Width.SHORT, "Snapshot in chunks");
        def.define(TRUNCATE_HANDLING, Type.STRING, TRUNCATE_HANDLING_DEFAULT,
                EnumValidator.of(TruncateHandling.names(), TruncateHandling::parse), Importance.LOW,
                TRUNCATE_HANDLING_DOC, GROUP_WAL, ++order, Width.SHORT, "Truncate handling");
        return def;
    }

    public String connectionUrl() {
        return getString(CONNECTION_URL);
    }

    public String user() {
        return getString(CONNECTION_USER);
    }

    /** The password, or null. Kept as {@link Password} until the moment it is handed to the driver. */
    public Password password() {
        return getPassword(CONNECTION_PASSWORD);
    }

    /** Deadline of every network read of a connector session; zero for none. */
    public Duration socketTimeout() {
        return Duration.ofMillis(getLong(CONNECTION_SOCKET_TIMEOUT_MS));
    }

    public TableFilter tableFilter() {
        return TableFilter.of(TABLE_INCLUDE_LIST, getList(TABLE_INCLUDE_LIST),
                TABLE_EXCLUDE_LIST, getList(TABLE_EXCLUDE_LIST));
    }

    public String topicPrefix() {
        return getString(TOPIC_PREFIX);
    }

    public Duration tableDiscoveryInterval() {
        return Duration.ofMillis(getLong(TABLE_DISCOVERY_INTERVAL_MS));
    }

    public TableColumnsOverrides keyColumns() {
        return TableColumnsOverrides.parse(KEY_COLUMNS, getList(KEY_COLUMNS), false);
    }

    public SnapshotMode snapshotMode() {
        return SnapshotMode.parse(getString(SNAPSHOT_MODE));
    }

    public String incrementalColumn() {
        return getString(INCREMENTAL_COLUMN);
    }

    public TableColumnsOverrides incrementalColumns() {
        return TableColumnsOverrides.parse(INCREMENTAL_COLUMNS, getList(INCREMENTAL_COLUMNS), true);
    }

    public IncrementalStart incrementalStart() {
        return IncrementalStart.parse(getString(INCREMENTAL_START));
    }

    public String softDeleteColumn() {
        return getString(SOFT_DELETE_COLUMN);
    }

    public int fetchSize() {
        return getInt(FETCH_SIZE);
    }

    public int batchMaxRows() {
        return getInt(BATCH_MAX_ROWS);
    }

    public long batchMaxBytes() {
        return getLong(BATCH_MAX_BYTES);
    }

    public Duration pollInterval() {
        return Duration.ofMillis(getLong(POLL_INTERVAL_MS));
    }

    public Duration cursorMaxAge() {
        return Duration.ofMillis(getLong(CURSOR_MAX_AGE_MS));
    }

    public int connectionAttempts() {
        return getInt(CONNECTION_ATTEMPTS);
    }

    public Duration retryBackoff() {
        return Duration.ofMillis(getLong(RETRY_BACKOFF_MS));
    }

    public Duration retryBackoffMax() {
        return Duration.ofMillis(getLong(RETRY_BACKOFF_MAX_MS));
    }

    public NumericMapping numericMapping() {
        return NumericMapping.parse(getString(NUMERIC_MAPPING));
    }

    public TimePrecisionMode timePrecisionMode() {
        return TimePrecisionMode.parse(getString(TIME_PRECISION_MODE));
    }

    public RecordFormat recordFormat() {
        return RecordFormat.parse(getString(RECORD_FORMAT));
    }

    public boolean provideTransactionMetadata() {
        return getBoolean(PROVIDE_TRANSACTION_METADATA);
    }

    /** The topic of BEGIN and END events (provide.transaction.metadata). */
    public String transactionTopic() {
        return TopicNames.sanitize(topicPrefix() + "." + getString(TOPIC_TRANSACTION));
    }

    public boolean tombstonesOnDelete() {
        return getBoolean(TOMBSTONES_ON_DELETE);
    }

    public CaptureMode captureMode() {
        return CaptureMode.parse(getString(CAPTURE_MODE));
    }

    /** The replication slot of capture.mode=wal: slot.name, or derived from the connector's name. */
    public String slotName() {
        String configured = getString(SLOT_NAME);
        return configured != null && !configured.isBlank() ? configured.trim() : WalNames.derived(connectorName());
    }

    /** The publication of capture.mode=wal: publication.name, or the slot's default name. */
    public String publicationName() {
        String configured = getString(PUBLICATION_NAME);
        return configured != null && !configured.isBlank() ? configured.trim() : WalNames.derived(connectorName());
    }

    public PublicationAutocreate publicationAutocreate() {
        return PublicationAutocreate.parse(getString(PUBLICATION_AUTOCREATE));
    }

    public boolean snapshotChunked() {
        return getBoolean(SNAPSHOT_CHUNKED);
    }

    public int snapshotChunkSize() {
        return getInt(SNAPSHOT_CHUNK_SIZE);
    }

    public Duration heartbeatInterval() {
        return Duration.ofMillis(getLong(HEARTBEAT_INTERVAL_MS));
    }

    public Duration catalogCheckInterval() {
        return Duration.ofMillis(getLong(CATALOG_CHECK_INTERVAL_MS));
    }

    public TruncateHandling truncateHandling() {
        return TruncateHandling.parse(getString(TRUNCATE_HANDLING));
    }

    /** The connector's name, which the worker passes with its config ("name"); null outside a worker. */
    public String connectorName() {
        Object name = originals().get("name");
        return name == null ? null : name.toString();
    }

    /** The topic a table's records go to. */
    public String topicFor(TableId table) {
        return TopicNames.forTable(topicPrefix(), table);
    }
}

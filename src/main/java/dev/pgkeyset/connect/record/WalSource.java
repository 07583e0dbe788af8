package dev.pgkeyset.connect.record;

import org.apache.kafka.connect.data.Struct;

/**
 * Where in the WAL a change was read: what its envelope's source says beyond the table, and
 * its transaction block (null unless provide.transaction.metadata).
 */
public record WalSource(long commitEpochMicros, long txId, long lsn, Struct transaction) {
}

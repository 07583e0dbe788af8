package dev.pgkeyset.connect.snapshot;

import dev.pgkeyset.connect.pg.TableId;

/**
 * One leaf partition of a captured partitioned table whose rows are copied through that table:
 * rows the WAL never carried, such as those of a table attached as a partition with its rows. The
 * rows are read as {@code SELECT ... FROM <table> WHERE tableoid = <oid> AND <the leaf's partition
 * constraint>}: the table's columns and converters, exactly the rows that are the leaf's while it
 * is a partition of that table (none once it is detached), and the constraint lets the planner
 * read only that leaf.
 *
 * @param leaf its name, for logs
 * @param oid  its OID: a name may be given to another table meanwhile
 */
public record LeafCopy(TableId leaf, long oid) {
}

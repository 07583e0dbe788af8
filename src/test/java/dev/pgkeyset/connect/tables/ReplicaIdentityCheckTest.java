package dev.pgkeyset.connect.tables;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.pg.ReplicaIdentities.Index;
import dev.pgkeyset.connect.pg.ReplicaIdentities.Mode;
import dev.pgkeyset.connect.pg.ReplicaIdentities.Relation;
import dev.pgkeyset.connect.pg.ReplicaIdentities.Table;
import dev.pgkeyset.connect.pg.TableId;

/** Every branch of the replica identity rule; {@code ReplicaIdentityIT} shows the same on real tables. */
class ReplicaIdentityCheckTest {

    private static final TableId T = new TableId("public", "t");
    private static final Index PK_ID = new Index("t_pkey", true, false, true, List.of("id"), true);
    private static final Index CODE_KEY = new Index("t_code_key", false, false, true, List.of("code"), true);
    private static final Index CODE_PARTIAL = new Index("t_code_partial", false, false, false, List.of("code"), true);
    private static final Index CODE_NULLABLE = new Index("t_code_nullable", false, false, true, List.of("code"), false);

    private static Table plain(Mode mode, Index... indexes) {
        return new Table(new Relation(T, false, mode, false, List.of(indexes)), false, List.of());
    }

    private static String single(List<String> problems, String... fragments) {
        assertEquals(1, problems.size(), problems.toString());
        for (String fragment : fragments) {
            assertTrue(problems.get(0).contains(fragment), "'" + fragment + "' not in: " + problems.get(0));
        }
        return problems.get(0);
    }

    @Test
    void fullAndAPrimaryKeyThatIsTheKeyIdentifyRows() {
        assertEquals(List.of(), ReplicaIdentityCheck.problems(T, List.of("code"), true, plain(Mode.FULL)));
        assertEquals(List.of(), ReplicaIdentityCheck.problems(T, List.of("id"), false, plain(Mode.DEFAULT, PK_ID)));
        Index identity = new Index("t_code_key", false, true, true, List.of("code"), true);
        assertEquals(List.of(), ReplicaIdentityCheck.problems(T, List.of("code"), true,
                plain(Mode.INDEX, PK_ID, identity)));
        Index wide = new Index("t_pkey", true, false, true, List.of("id", "code"), true);
        assertEquals(List.of(), ReplicaIdentityCheck.problems(T, List.of("code"), true, plain(Mode.DEFAULT, wide)),
                "a key among the identity columns is in every old tuple");
    }

    @Test
    void nothingIsRefusedWithTheAlterToRun() {
        single(ReplicaIdentityCheck.problems(T, List.of("id"), false, plain(Mode.NOTHING, PK_ID)),
                "Table public.t has REPLICA IDENTITY NOTHING", "refuses every UPDATE and DELETE",
                "ALTER TABLE \"public\".\"t\" REPLICA IDENTITY FULL",
                "ALTER TABLE \"public\".\"t\" REPLICA IDENTITY USING INDEX \"t_pkey\"", "table.exclude.list");
    }

    @Test
    void defaultWithoutPrimaryKeyIsRefusedNamingAUsableUniqueIndex() {
        String message = single(ReplicaIdentityCheck.problems(T, List.of("code"), true,
                plain(Mode.DEFAULT, CODE_PARTIAL, CODE_NULLABLE, CODE_KEY)),
                "Table public.t has REPLICA IDENTITY DEFAULT but no primary key",
                "ALTER TABLE \"public\".\"t\" REPLICA IDENTITY FULL", "USING INDEX \"t_code_key\"",
                "add a primary key");
        assertTrue(!message.contains("t_code_partial") && !message.contains("t_code_nullable"),
                "USING INDEX refuses partial indexes and nullable columns: " + message);
        String noIndex = single(ReplicaIdentityCheck.problems(T, List.of("code"), true, plain(Mode.DEFAULT)));
        assertTrue(!noIndex.contains("USING INDEX"), noIndex);
    }

    @Test
    void keyColumnsThatAreNotTheIdentityAreReportedOnKeyColumns() {
        single(ReplicaIdentityCheck.problems(T, List.of("code"), true, plain(Mode.DEFAULT, PK_ID, CODE_KEY)),
                "key.columns: Table public.t is keyed by (code) (key.columns) but its replica identity is its primary "
                        + "key (id)", "reach the WAL without (code)",
                "ALTER TABLE \"public\".\"t\" REPLICA IDENTITY USING INDEX \"t_code_key\"",
                "ALTER TABLE \"public\".\"t\" REPLICA IDENTITY FULL", "'public.t:id'");
        // the primary key as the key, but the identity is another index: not a key.columns problem
        Index identity = new Index("t_code_key", false, true, true, List.of("code"), true);
        String message = single(ReplicaIdentityCheck.problems(T, List.of("id"), false,
                plain(Mode.INDEX, PK_ID, identity)), "Table public.t is keyed by (id) but its replica identity is "
                        + "the index t_code_key (code)", "USING INDEX \"t_pkey\"");
        assertTrue(message.startsWith("Table "), message);
    }

    @Test
    void anIdentityIndexThatIsGoneIsRefused() {
        single(ReplicaIdentityCheck.problems(T, List.of("id"), false, plain(Mode.INDEX, PK_ID)),
                "REPLICA IDENTITY USING INDEX, but that index no longer exists");
    }

    @Test
    void anUnloggedTableIsRefused() {
        Table unlogged = new Table(new Relation(T, false, Mode.DEFAULT, true, List.of(PK_ID)), false, List.of());
        single(ReplicaIdentityCheck.problems(T, List.of("id"), false, unlogged), "is UNLOGGED",
                "ALTER TABLE \"public\".\"t\" SET LOGGED");
    }

    @Test
    void aPartitionedTableIsCheckedThroughEachPartition() {
        TableId p1 = new TableId("public", "t_1");
        TableId p2 = new TableId("public", "t_2");
        Index p2Pk = new Index("t_2_pkey", true, false, true, List.of("id"), true);
        // the parent's own NOTHING does not matter (it holds no rows); its partitions' identities do
        Table table = new Table(new Relation(T, false, Mode.NOTHING, false, List.of(PK_ID)), true, List.of(
                new Relation(p1, true, Mode.DEFAULT, false, List.of(new Index("t_1_pkey", true, false, true,
                        List.of("id"), true))),
                new Relation(p2, true, Mode.NOTHING, false, List.of(p2Pk))));
        single(ReplicaIdentityCheck.problems(T, List.of("id"), false, table),
                "Partition public.t_2 of table public.t has REPLICA IDENTITY NOTHING",
                "ALTER TABLE \"public\".\"t_2\" REPLICA IDENTITY FULL",
                "ALTER TABLE \"public\".\"t_2\" REPLICA IDENTITY USING INDEX \"t_2_pkey\"");
        Table empty = new Table(new Relation(T, false, Mode.NOTHING, false, List.of()), true, List.of());
        assertEquals(List.of(), ReplicaIdentityCheck.problems(T, List.of("id"), false, empty),
                "a partitioned table without partitions has no rows to identify");
    }

    @Test
    void aKeyWithAGeneratedColumnIsRefusedEvenWithFullIdentity() {
        Table full = new Table(new Relation(T, false, Mode.FULL, false, List.of()), false, List.of(), List.of("g"));
        single(ReplicaIdentityCheck.problems(T, List.of("id", "g"), false, full),
                "Table public.t is keyed by (id, g), which includes the generated column(s) (g)",
                "never sends generated columns", "capture.mode=query", "table.exclude.list");
        assertTrue(ReplicaIdentityCheck.problems(T, List.of("id", "g"), true, full).get(0).startsWith("key.columns: "));
        assertEquals(List.of(), ReplicaIdentityCheck.problems(T, List.of("id"), false, full),
                "a generated column outside the key is fetched by key");
    }
}

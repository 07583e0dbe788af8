package dev.pgkeyset.connect.changes.wal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.DataException;

import dev.pgkeyset.connect.record.TablePlan;

/**
 * A pgoutput tuple read into a plan's raw column values (the same values a snapshot query reads),
 * through the plan's text converters: the new row, the whole old row (REPLICA IDENTITY FULL) or
 * only the old key. Which values the WAL left out (unchanged TOAST, generated columns) is listed,
 * for {@link ToastFetch}.
 */
final class TupleValues {

    private TupleValues() {
    }

    /** A tuple's values in the plan's columns, and the plan columns still to fetch (null for none). */
    record Values(Object[] raw, int[] missing) {
    }

    /**
     * A tuple's raw values in the plan's columns; an unchanged TOAST value is taken from
     * {@code whole} (the whole old row, REPLICA IDENTITY FULL) or listed as missing; so are the
     * generated columns, which pgoutput never sends (see {@link RelationPlans.Layout}).
     */
    static Values of(TablePlan plan, RelationPlans.Layout layout, PgOutputMessage.TupleData tuple,
                          PgOutputMessage.TupleData whole) {
        checkWidth(plan, layout, tuple);
        Object[] raw = new Object[plan.columns().size()];
        int[] missing = null;
        int missingCount = 0;
        for (int i = 0; i < tuple.size(); i++) {
            int column = layout.toPlan()[i];
            char kind = tuple.kinds()[i];
            if (kind == PgOutputMessage.TupleData.TEXT) {
                raw[column] = fromText(plan, column, tuple.texts()[i]);
            } else if (kind == PgOutputMessage.TupleData.UNCHANGED_TOAST) {
                if (whole != null && whole.kinds()[i] == PgOutputMessage.TupleData.TEXT) {
                    raw[column] = fromText(plan, column, whole.texts()[i]);
                } else {
                    if (missing == null) {
                        missing = new int[raw.length];
                    }
                    missing[missingCount++] = column;
                }
            } else if (kind != PgOutputMessage.TupleData.NULL) {
                throw new ConnectException("Table " + plan.id() + ": column " + plan.columns().get(column).name()
                        + " came in pgoutput's binary form, which this connector never asks for");
            }
        }
        for (int column : layout.generated()) {
            if (missing == null) {
                missing = new int[raw.length];
            }
            missing[missingCount++] = column;
        }
        if (missing != null) {
            // Fetched in column order.
            missing = Arrays.copyOf(missing, missingCount);
            Arrays.sort(missing);
        }
        return new Values(raw, missing);
    }

    /**
     * A key value stored out of line that the update left alone comes as unchanged TOAST in the
     * new tuple; PostgreSQL then logs the old key in full, which is the same value: taken from
     * there (it cannot be fetched by a key it is part of).
     */
    static Values withUnchangedKeyFrom(TablePlan plan, Values values, Object[] oldRaw) {
        if (values.missing == null) {
            return values;
        }
        List<Integer> stillMissing = new ArrayList<>();
        for (int column : values.missing) {
            boolean key = Arrays.stream(plan.keyIndexes()).anyMatch(k -> k == column);
            if (key && oldRaw[column] != null) {
                values.raw[column] = oldRaw[column];
            } else {
                stillMissing.add(column);
            }
        }
        return new Values(values.raw, stillMissing.isEmpty() ? null
                : stillMissing.stream().mapToInt(Integer::intValue).toArray());
    }

    /**
     * The old row as REPLICA IDENTITY FULL logs it: every column the WAL carries; a generated column
     * (never sent) or a value the WAL left out stays null.
     */
    static Object[] wholeOldRow(TablePlan plan, RelationPlans.Layout layout, PgOutputMessage.TupleData old) {
        checkWidth(plan, layout, old);
        Object[] raw = new Object[plan.columns().size()];
        for (int i = 0; i < old.size(); i++) {
            if (old.kinds()[i] == PgOutputMessage.TupleData.TEXT) {
                int column = layout.toPlan()[i];
                raw[column] = fromText(plan, column, old.texts()[i]);
            }
        }
        return raw;
    }

    static Object[] keyOnly(TablePlan plan, RelationPlans.Layout layout, PgOutputMessage.TupleData old) {
        checkWidth(plan, layout, old);
        Object[] raw = new Object[plan.columns().size()];
        int[] keyIndexes = plan.keyIndexes();
        for (int i = 0; i < old.size(); i++) {
            int column = layout.toPlan()[i];
            for (int k : keyIndexes) {
                if (k == column && old.kinds()[i] == PgOutputMessage.TupleData.TEXT) {
                    raw[column] = fromText(plan, column, old.texts()[i]);
                }
            }
        }
        return raw;
    }

    private static void checkWidth(TablePlan plan, RelationPlans.Layout layout, PgOutputMessage.TupleData tuple) {
        if (tuple.size() != layout.toPlan().length) {
            throw new ConnectException("Table " + plan.id() + ": a change carries " + tuple.size()
                    + " columns, its Relation message " + layout.toPlan().length);
        }
    }

    private static Object fromText(TablePlan plan, int column, String text) {
        try {
            return plan.rawFromText(column, text);
        } catch (DataException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new DataException("Table " + plan.id() + ", column " + plan.columns().get(column).name()
                    + ": cannot read the WAL value '" + abbreviate(text) + "': " + e.getMessage(), e);
        }
    }

    private static String abbreviate(String text) {
        return text.length() <= 100 ? text : text.substring(0, 100) + "…";
    }
}

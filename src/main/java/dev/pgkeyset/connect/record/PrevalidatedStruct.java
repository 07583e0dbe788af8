package dev.pgkeyset.connect.record;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Struct;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fills a {@link Struct} with values the column converters made for exactly the field's schema.
 * {@link Struct#put(Field, Object)} validates every value against its schema, which profiling
 * showed as about a quarter of the read path's time; our converters build schema and value
 * together, so the check can never fail. The values go straight into the Struct's array; where
 * that array cannot be reached (a future Kafka version), each value goes through put() as usual.
 */
public final class PrevalidatedStruct {

    private static final Logger log = LoggerFactory.getLogger(PrevalidatedStruct.class);
    private static final VarHandle VALUES = valuesHandle();

    private PrevalidatedStruct() {
    }

    private static VarHandle valuesHandle() {
        try {
            VarHandle handle = MethodHandles.privateLookupIn(Struct.class, MethodHandles.lookup())
                    .findVarHandle(Struct.class, "values", Object[].class);
            // Check that it behaves as expected on a throwaway Struct before trusting it.
            Schema probe = org.apache.kafka.connect.data.SchemaBuilder.struct()
                    .field("x", Schema.INT32_SCHEMA).build();
            Struct struct = new Struct(probe);
            ((Object[]) handle.get(struct))[0] = 1;
            if (!Integer.valueOf(1).equals(struct.get("x"))) {
                return null;
            }
            return handle;
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.info("Struct values are set through put() (validated): {}", e.toString());
            return null;
        }
    }

    /** Sets field {@code index} of a Struct fresh from {@code new Struct(schema)}; null values are left unset. */
    public static void set(Struct struct, Object[] values, Field[] fields, int index, Object value) {
        if (values != null) {
            values[index] = value;
        } else {
            struct.put(fields[index], value);
        }
    }

    /** The Struct's value array, or null when values must go through put(). */
    public static Object[] valuesOf(Struct struct) {
        return VALUES == null ? null : (Object[]) VALUES.get(struct);
    }
}

package io.gradus.core.io;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The element types Gradus reads from safetensors, and how each becomes a float: the floating-point
 * ones, and U8 (bytes: packed 4-bit codes, 8-bit scales and bitsandbytes' quant_state).
 */
public enum DType {
    F32(4),
    F16(2),
    BF16(2),
    U8(1);

    private static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /** Converts {@code count} little-endian elements starting at {@code offset} into {@code out}. */
    void toFloats(MemorySegment data, long offset, float[] out, int count) {
        switch (this) {
            case F32 -> MemorySegment.copy(data, FLOAT_LE, offset, out, 0, count);
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = Float.float16ToFloat(data.get(SHORT_LE, offset + 2L * i));
                }
            }
            case BF16 -> {
                // bfloat16 is the upper half of an IEEE float: widen by shifting into the high bits.
                for (int i = 0; i < count; i++) {
                    out[i] = Float.intBitsToFloat((data.get(SHORT_LE, offset + 2L * i) & 0xffff) << 16);
                }
            }
            case U8 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = data.get(ValueLayout.JAVA_BYTE, offset + i) & 0xff;
                }
            }
        }
    }

    /** The dtype named {@code name} in a safetensors header, or null if Gradus does not read it. */
    static DType fromHeader(String name) {
        for (DType d : values()) {
            if (d.name().equals(name)) {
                return d;
            }
        }
        return null;
    }
}

package io.gradus.core.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradus.api.kernel.Nf4;
import io.gradus.api.kernel.Nf4DoubleQuant;
import io.gradus.api.kernel.Nf4Tensor;
import io.gradus.api.model.QuantizedWeight;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;

/**
 * NF4 weights as transformers + bitsandbytes store them ({@code Linear4bit._save_to_state_dict},
 * {@code QuantState.as_dict(packed=True)}). For a quantized weight {@code W}:
 * <pre>
 *   W                                   U8  [(n + 1) / 2, 1]  4-bit codes, the even element in the high nibble
 *   W.absmax                            U8 [blocks] with double quantization, F32 [blocks] without
 *   W.quant_map                         F32 [16]             the NF4 code table
 *   W.nested_absmax                     F32 [⌈blocks / 256⌉] with double quantization
 *   W.nested_quant_map                  F32 [256]            the dynamic map, with double quantization
 *   W.quant_state.bitsandbytes__nf4     U8  [bytes]          UTF-8 JSON: quant_type, blocksize, dtype, shape
 *                                                            (+ nested_blocksize, nested_dtype, nested_offset)
 * </pre>
 * and {@code config.json} a {@code quantization_config} as transformers' {@code
 * BitsAndBytesConfig.to_dict()} writes it. As in transformers, a weight is quantized exactly when
 * its quant_state tensor is there.
 */
public final class BitsAndBytesNf4 {

    /** The suffix of the quant_state tensor that marks a weight as NF4. */
    public static final String QUANT_STATE = "quant_state.bitsandbytes__nf4";

    private static final String FP4_STATE = "quant_state.bitsandbytes__fp4";

    /** What follows {@code W.} in the names of a quantized weight's companion tensors. */
    private static final List<String> COMPANIONS = List.of("absmax", "quant_map", "nested_absmax", "nested_quant_map",
            QUANT_STATE);

    private static final ObjectMapper JSON = new ObjectMapper();

    private BitsAndBytesNf4() {}

    /**
     * Whether {@code config.json} declares bitsandbytes' NF4 ({@code quant_method: bitsandbytes},
     * {@code load_in_4bit}, {@code bnb_4bit_quant_type: nf4}); false when it declares no
     * quantization.
     *
     * @throws IOException naming the file and the method when it declares any other quantization
     *     (gptq, awq, bitsandbytes' 8-bit or fp4, ...), which Gradus does not read
     */
    public static boolean declaredIn(Path configFile) throws IOException {
        JsonNode config = JSON.readTree(configFile.toFile()).path("quantization_config");
        if (config.isMissingNode() || config.isNull()) {
            return false;
        }
        String method = config.path("quant_method").asText("(none)");
        String supported = "; Gradus reads bitsandbytes NF4 models (load_in_4bit, bnb_4bit_quant_type nf4)";
        if (!method.equals("bitsandbytes")) {
            throw new IOException(configFile + ": quantization_config: quant_method '" + method + "' is not supported"
                    + supported);
        }
        if (config.path("load_in_8bit").asBoolean(false)) {
            throw new IOException(configFile + ": quantization_config: bitsandbytes 8-bit (load_in_8bit, LLM.int8()) "
                    + "is not supported" + supported);
        }
        if (!config.path("load_in_4bit").asBoolean(false)) {
            throw new IOException(configFile + ": quantization_config: bitsandbytes without load_in_4bit is not "
                    + "supported" + supported);
        }
        String type = config.path("bnb_4bit_quant_type").asText("fp4");
        if (!type.equals("nf4")) {
            throw new IOException(configFile + ": quantization_config: bnb_4bit_quant_type '" + type
                    + "' is not supported" + supported);
        }
        return true;
    }

    /**
     * Whether {@code weight} is stored quantized in {@code files} (its quant_state tensor is there).
     *
     * @throws IOException if it is stored in bitsandbytes' FP4, which Gradus does not read
     */
    public static boolean isQuantized(WeightFiles files, String weight) throws IOException {
        if (files.contains(weight + "." + FP4_STATE)) {
            throw new IOException(files.file(weight + "." + FP4_STATE).file() + ": tensor " + weight
                    + " is in bitsandbytes' FP4; Gradus reads NF4 only");
        }
        return files.contains(weight + "." + QUANT_STATE);
    }

    /** The names of a quantized weight's companion tensors (those present with or without double quantization). */
    public static List<String> companions(String weight) {
        return COMPANIONS.stream().map(c -> weight + "." + c).toList();
    }

    /**
     * Reads the quantized weight {@code weight}, which the model needs in shape {@code shape}.
     *
     * @throws IOException naming the file and tensor: a quant_state that is not valid JSON, not NF4,
     *     or whose shape disagrees; a packed or scale tensor of the wrong size or type (truncated);
     *     a missing companion; a code table that is not NF4's
     */
    public static QuantizedWeight read(WeightFiles files, String weight, int[] shape) throws IOException {
        String stateName = weight + "." + QUANT_STATE;
        String where = files.file(stateName).file() + ": tensor ";
        JsonNode state;
        try {
            state = JSON.readTree(new String(files.readBytes(stateName), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IOException(where + stateName + " is not valid JSON: " + e.getMessage(), e);
        }
        if (!state.path("quant_type").asText("").equals("nf4")) {
            throw new IOException(where + stateName + ": quant_type " + state.path("quant_type")
                    + " is not supported; Gradus reads nf4");
        }
        int blockSize = state.path("blocksize").asInt(0);
        if (blockSize <= 0) {
            throw new IOException(where + stateName + ": blocksize " + state.path("blocksize") + " is not a positive integer");
        }
        int[] stated = new int[state.path("shape").size()];
        for (int i = 0; i < stated.length; i++) {
            stated[i] = state.path("shape").path(i).asInt(-1);
        }
        if (!Arrays.equals(stated, shape)) {
            throw new IOException(where + weight + ": its quant_state gives shape " + Arrays.toString(stated)
                    + " but config.json implies " + Arrays.toString(shape));
        }
        int n = Arrays.stream(shape).reduce(1, Math::multiplyExact);
        int blocks = Nf4.blocks(n, blockSize);
        byte[] packed = files.readBytes(weight);
        if (packed.length != (n + 1) / 2) {
            throw new IOException(files.file(weight).file() + ": tensor " + weight + " holds " + packed.length
                    + " bytes; NF4 of shape " + Arrays.toString(shape) + " needs " + (n + 1) / 2 + " (truncated?)");
        }
        float[] quantMap = floats(files, weight + ".quant_map", 16);
        if (!Arrays.equals(quantMap, Nf4.code())) {
            throw new IOException(files.file(weight + ".quant_map").file() + ": tensor " + weight
                    + ".quant_map is not the NF4 code table");
        }
        Nf4Tensor data;
        if (state.has("nested_offset")) {
            int nestedBlockSize = state.path("nested_blocksize").asInt(0);
            if (nestedBlockSize != Nf4DoubleQuant.NESTED_BLOCK_SIZE) {
                throw new IOException(where + stateName + ": nested_blocksize " + state.path("nested_blocksize")
                        + " is not supported; bitsandbytes writes " + Nf4DoubleQuant.NESTED_BLOCK_SIZE);
            }
            byte[] absmax = files.readBytes(weight + ".absmax");
            if (absmax.length != blocks) {
                throw new IOException(files.file(weight + ".absmax").file() + ": tensor " + weight + ".absmax holds "
                        + absmax.length + " scales; " + n + " elements in blocks of " + blockSize + " need " + blocks);
            }
            float[] nested = floats(files, weight + ".nested_absmax", Nf4.blocks(blocks, nestedBlockSize));
            float[] nestedMap = floats(files, weight + ".nested_quant_map", 256);
            if (!Arrays.equals(nestedMap, Nf4DoubleQuant.dynamicMap())) {
                throw new IOException(files.file(weight + ".nested_quant_map").file() + ": tensor " + weight
                        + ".nested_quant_map is not bitsandbytes' dynamic map");
            }
            data = new Nf4DoubleQuant(packed, absmax, nested, (float) state.path("nested_offset").asDouble(), n,
                    blockSize);
        } else {
            data = new Nf4(packed, floats(files, weight + ".absmax", blocks), n, blockSize);
        }
        return new QuantizedWeight(weight, shape, data);
    }

    private static float[] floats(WeightFiles files, String name, int count) throws IOException {
        if (!files.contains(name)) {
            throw new IOException("the quantized weight's tensor " + name + " is missing from " + files.paths());
        }
        SafeTensors.TensorInfo info = files.info(name);
        if (info.dtype() == DType.U8 || info.elements() != count) {
            throw new IOException(files.file(name).file() + ": tensor " + name + " holds " + info.elements() + " "
                    + info.dtype() + " values; " + count + " floats were expected");
        }
        return files.read(name);
    }

    /** The tensors of {@code weight} in bitsandbytes' layout, by their names in the file. */
    public static SequencedMap<String, SafeTensors.Writable> tensors(QuantizedWeight weight) {
        String w = weight.name();
        Nf4Tensor data = weight.data();
        SequencedMap<String, SafeTensors.Writable> out = new LinkedHashMap<>();
        out.put(w, new SafeTensors.U8Tensor(new int[] {data.packed().length, 1}, data.packed()));
        StringBuilder state = new StringBuilder("{\"quant_type\": \"nf4\", \"blocksize\": ").append(data.blockSize())
                .append(", \"dtype\": \"float32\", \"shape\": ").append(Arrays.toString(weight.shape()));
        switch (data) {
            case Nf4 plain -> {
                out.put(w + ".absmax", new SafeTensors.Tensor(new int[] {plain.absmax().length}, plain.absmax()));
                out.put(w + ".quant_map", new SafeTensors.Tensor(new int[] {16}, Nf4.code()));
            }
            case Nf4DoubleQuant compressed -> {
                out.put(w + ".absmax", new SafeTensors.U8Tensor(new int[] {compressed.absmax().length}, compressed.absmax()));
                out.put(w + ".quant_map", new SafeTensors.Tensor(new int[] {16}, Nf4.code()));
                out.put(w + ".nested_absmax",
                        new SafeTensors.Tensor(new int[] {compressed.nestedAbsmax().length}, compressed.nestedAbsmax()));
                out.put(w + ".nested_quant_map", new SafeTensors.Tensor(new int[] {256}, Nf4DoubleQuant.dynamicMap()));
                state.append(", \"nested_blocksize\": ").append(Nf4DoubleQuant.NESTED_BLOCK_SIZE)
                        .append(", \"nested_dtype\": \"float32\", \"nested_offset\": ")
                        .append(Double.toString(compressed.offset()));
            }
        }
        // bitsandbytes' pack_dict_to_tensor: json.dumps of the non-tensor items, as UTF-8 bytes.
        byte[] json = state.append('}').toString().getBytes(StandardCharsets.UTF_8);
        out.put(w + "." + QUANT_STATE, new SafeTensors.U8Tensor(new int[] {json.length}, json));
        return out;
    }

    /**
     * The {@code quantization_config} transformers writes into config.json for a bitsandbytes 4-bit
     * model ({@code BitsAndBytesConfig.to_dict()}, keys sorted as its JSON is).
     *
     * @param doubleQuant whether the scales are double-quantized ({@code bnb_4bit_use_double_quant})
     * @param skipModules linear modules left in float ({@code llm_int8_skip_modules}); empty when every
     *     linear module but the output head is quantized (transformers then leaves {@code lm_head} out by itself)
     */
    public static ObjectNode quantizationConfig(boolean doubleQuant, List<String> skipModules) {
        ObjectNode config = JSON.createObjectNode();
        config.put("_load_in_4bit", true);
        config.put("_load_in_8bit", false);
        config.put("bnb_4bit_compute_dtype", "float32");
        config.put("bnb_4bit_quant_storage", "uint8");
        config.put("bnb_4bit_quant_type", "nf4");
        config.put("bnb_4bit_use_double_quant", doubleQuant);
        config.put("llm_int8_enable_fp32_cpu_offload", false);
        config.put("llm_int8_has_fp16_weight", false);
        if (skipModules.isEmpty()) {
            config.putNull("llm_int8_skip_modules");
        } else {
            var skip = config.putArray("llm_int8_skip_modules");
            skip.add("lm_head");
            skipModules.forEach(skip::add);
        }
        config.put("llm_int8_threshold", 6.0);
        config.put("load_in_4bit", true);
        config.put("load_in_8bit", false);
        config.put("quant_method", "bitsandbytes");
        return config;
    }
}

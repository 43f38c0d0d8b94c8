package io.gradus.plugin.adapters;

import io.gradus.api.kernel.Activation;
import io.gradus.api.technique.Setting;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Configuration of bottleneck adapters, with the field names of the AdapterHub {@code adapters}
 * library's {@code BnConfig} (in a job file in camelCase, {@code reductionFactor}; in the library's
 * {@code adapter_config.json} in snake case, {@code reduction_factor}). Fields left out take the
 * preset's values.
 *
 * @param preset {@code double_seq_bn} (Houlsby et al. 2019: after attention and after the MLP, swish;
 *     the default) or {@code seq_bn} (Pfeiffer et al. 2020: after the MLP only, relu); the library's
 *     older names {@code houlsby} and {@code pfeiffer} work too
 * @param adapterName name of this adapter among several on one model (default {@code default}); part
 *     of its tensor names, {@code ...adapters.<name>.adapter_down.0.weight}
 * @param mhAdapter insert an adapter after each layer's attention sub-layer
 * @param outputAdapter insert an adapter after each layer's MLP sub-layer
 * @param reductionFactor r: the bottleneck is ⌊C / r⌋ wide (at least 1), C the hidden size; a
 *     number (default 16), or per layer a map from layer index to number with a {@code default}
 *     entry, e.g. {@code {"default": 16, "1": 8}}. Not with {@code bottleneckSize}
 * @param bottleneckSize the bottleneck width itself, instead of a reduction factor (a Gradus
 *     setting; saved files give the equivalent reduction factor)
 * @param nonLinearity the bottleneck's activation: {@code swish} or {@code silu}, {@code relu},
 *     {@code gelu} (exact), {@code gelu_new} (tanh approximation)
 * @param originalLnBefore false: the adapter reads the sub-layer's output h (Houlsby); true: it reads
 *     the residual stream after the sub-layer's residual add, x + h (Pfeiffer). See docs/DESIGN.md
 *     for why, in Llama's pre-norm blocks, these are the two choices
 * @param originalLnAfter must be true when {@code originalLnBefore} is false, and equal
 *     {@code residualBeforeLn} when it is true: the other combinations drop the residual stream or
 *     add it twice
 * @param residualBeforeLn the library's choice of the adapter's own residual; {@code true} or
 *     {@code false} as above ({@code post_add} needs a layer norm after the sub-layer, which Llama has
 *     not)
 * @param scaling s, a number multiplying the bottleneck's output (default 1); learned scalings are
 *     not supported
 * @param dropout dropout probability on the bottleneck's output, in training only (default 0)
 * @param initWeights how a fresh adapter starts: {@code mam_adapter} (default: the down-projection
 *     Kaiming-uniform, the up-projection and the biases zero, so the adapter is the identity),
 *     {@code bert} (both N(0, 0.02²)) or {@code houlsby} (both N(0, 0.01²) truncated at ±0.02);
 *     biases start at zero
 * @param initWeightsSeed mixed into the seed of the initial weights (which otherwise depends only on
 *     the tensor names)
 * @param leaveOut layers (from 0) that get no adapter
 * @param architecture the library's adapter family: bottleneck adapters have none; any other
 *     ({@code lora}, {@code prefix_tuning}, ...) is refused
 * @param lnBefore not supported: a new layer norm before the bottleneck (must be false)
 * @param lnAfter not supported: a new layer norm after the bottleneck (must be false)
 * @param isParallel not supported: parallel adapters (must be false)
 * @param useGating not supported: a learned gate (must be false)
 * @param phmLayer not supported: Compacter's PHM layers (must be false)
 * @param invAdapter not supported: invertible adapters after the embeddings (must be absent)
 * @param stochasticDepth not supported: dropping whole adapters in training (must be 0)
 */
public record AdaptersConfig(
        @Setting(description = "double_seq_bn (Houlsby 2019: after attention and after the MLP, swish) or seq_bn "
                + "(Pfeiffer 2020: after the MLP only, relu); houlsby and pfeiffer are the library's older names.",
                choices = {"double_seq_bn", "seq_bn", "houlsby", "pfeiffer"}) String preset,
        @Setting(description = "Name of this adapter among several on one model (letters, digits, '_', '-'); part of "
                + "its tensor names.") String adapterName,
        @Setting(description = "Insert an adapter after each layer's attention sub-layer.") Boolean mhAdapter,
        @Setting(description = "Insert an adapter after each layer's MLP sub-layer.") Boolean outputAdapter,
        @Setting(description = "r: the bottleneck is hidden size / r wide (at least 1); a number, or per layer a map "
                + "from layer index to number with a 'default' entry. Not with bottleneckSize.", min = 0,
                exclusiveMin = true) Object reductionFactor,
        @Setting(description = "The bottleneck's width itself, instead of a reduction factor.", min = 1) Integer bottleneckSize,
        @Setting(description = "The bottleneck's activation.", choices = {"swish", "silu", "relu", "gelu", "gelu_new"})
                String nonLinearity,
        @Setting(description = "Off: the adapter reads the sub-layer's output (Houlsby); on: the residual stream after "
                + "the sub-layer's residual add (Pfeiffer).") Boolean originalLnBefore,
        @Setting(description = "Must be on when originalLnBefore is off, and equal residualBeforeLn when it is on.")
                Boolean originalLnAfter,
        @Setting(description = "The library's choice of the adapter's own residual: true or false (post_add is not "
                + "supported: Llama has no layer norm after the sub-layer).") Object residualBeforeLn,
        @Setting(description = "s, a number multiplying the bottleneck's output (learned scalings are not supported).")
                Object scaling,
        @Setting(description = "Dropout probability on the bottleneck's output, in training only.", min = 0, max = 1,
                exclusiveMax = true) Double dropout,
        @Setting(description = "How a fresh adapter starts: mam_adapter (the identity: up-projection and biases zero), "
                + "bert (N(0, 0.02²)) or houlsby (N(0, 0.01²) truncated at ±0.02).",
                choices = {"mam_adapter", "bert", "houlsby"}) String initWeights,
        @Setting(description = "Mixed into the seed of the initial weights.") Integer initWeightsSeed,
        @Setting(description = "Layers (from 0) that get no adapter.", min = 0) List<Integer> leaveOut,
        @Setting(description = "The library's adapter family: bottleneck adapters have none; any other is refused.")
                String architecture,
        @Setting(description = "Not supported: a new layer norm before the bottleneck (must be off).") Boolean lnBefore,
        @Setting(description = "Not supported: a new layer norm after the bottleneck (must be off).") Boolean lnAfter,
        @Setting(description = "Not supported: parallel adapters (must be off).") Boolean isParallel,
        @Setting(description = "Not supported: a learned gate (must be off).") Boolean useGating,
        @Setting(description = "Not supported: Compacter's PHM layers (must be off).") Boolean phmLayer,
        @Setting(description = "Not supported: invertible adapters after the embeddings (must be absent).") String invAdapter,
        @Setting(description = "Not supported: dropping whole adapters in training (must be 0).", min = 0, max = 0)
                Double stochasticDepth) {

    /** The activations by their names in the library (transformers' {@code get_activation}). */
    private static final Map<String, Activation> ACTIVATIONS = Map.of(
            "swish", Activation.SILU, "silu", Activation.SILU, "relu", Activation.RELU,
            "gelu", Activation.GELU, "gelu_new", Activation.GELU_TANH);

    private static final List<String> INIT_WEIGHTS = List.of("mam_adapter", "bert", "houlsby");

    public AdaptersConfig {
        preset = preset == null ? "double_seq_bn" : preset.toLowerCase(Locale.ROOT);
        boolean houlsby = switch (preset) {
            case "double_seq_bn", "houlsby" -> true;
            case "seq_bn", "pfeiffer" -> false;
            default -> throw new IllegalArgumentException("preset must be double_seq_bn (Houlsby) or seq_bn (Pfeiffer), was '"
                    + preset + "'");
        };
        preset = houlsby ? "double_seq_bn" : "seq_bn";
        adapterName = adapterName == null || adapterName.isBlank() ? "default" : adapterName;
        if (!adapterName.matches("[A-Za-z0-9_-]+")) {
            throw new IllegalArgumentException("adapterName must be letters, digits, '_' or '-', was '" + adapterName + "'");
        }
        mhAdapter = mhAdapter == null ? houlsby : mhAdapter;
        outputAdapter = outputAdapter == null ? Boolean.TRUE : outputAdapter;
        if (!mhAdapter && !outputAdapter) {
            throw new IllegalArgumentException("mhAdapter and outputAdapter are both false: there is nowhere to insert an adapter");
        }
        if (bottleneckSize != null) {
            if (reductionFactor != null) {
                throw new IllegalArgumentException("give reductionFactor or bottleneckSize, not both");
            }
            if (bottleneckSize <= 0) {
                throw new IllegalArgumentException("bottleneckSize must be > 0, was " + bottleneckSize);
            }
        } else {
            reductionFactor = reductionFactors(reductionFactor == null ? 16 : reductionFactor);
        }
        nonLinearity = nonLinearity == null ? (houlsby ? "swish" : "relu") : nonLinearity.toLowerCase(Locale.ROOT);
        if (!ACTIVATIONS.containsKey(nonLinearity)) {
            throw new IllegalArgumentException("nonLinearity '" + nonLinearity + "' is not supported; use one of "
                    + ACTIVATIONS.keySet().stream().sorted().toList());
        }
        originalLnBefore = originalLnBefore == null ? !houlsby : originalLnBefore;
        originalLnAfter = originalLnAfter == null ? Boolean.TRUE : originalLnAfter;
        residualBeforeLn = residualBeforeLn == null ? Boolean.TRUE : residualBeforeLn;
        if (!(residualBeforeLn instanceof Boolean residual)) {
            throw new IllegalArgumentException("residualBeforeLn '" + residualBeforeLn + "' is not supported: it must be "
                    + "true or false ('post_add' takes the residual after a layer norm that follows the sub-layer, "
                    + "and Llama's pre-norm blocks have none)");
        }
        if (!originalLnBefore && !originalLnAfter) {
            throw new IllegalArgumentException("originalLnAfter false with originalLnBefore false would drop the "
                    + "residual stream x of Llama's pre-norm blocks (h + f(h) instead of x + h + f(h))");
        }
        if (originalLnBefore && residual != originalLnAfter) {
            throw new IllegalArgumentException("with originalLnBefore true, residualBeforeLn (" + residual
                    + ") and originalLnAfter (" + originalLnAfter + ") must be equal: otherwise the residual stream x of "
                    + "Llama's pre-norm blocks is " + (originalLnAfter ? "added twice" : "dropped"));
        }
        scaling = scaling == null ? 1.0 : scaling;
        if (!(scaling instanceof Number number) || !Double.isFinite(number.doubleValue())) {
            throw new IllegalArgumentException("scaling must be a number; '" + scaling
                    + "' (a learned scaling) is not supported");
        }
        scaling = number.doubleValue();
        dropout = dropout == null ? 0.0 : dropout;
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("dropout must be in [0, 1), was " + dropout);
        }
        initWeights = initWeights == null ? "mam_adapter" : initWeights.toLowerCase(Locale.ROOT);
        if (!INIT_WEIGHTS.contains(initWeights)) {
            throw new IllegalArgumentException("initWeights must be one of " + INIT_WEIGHTS + ", was '" + initWeights + "'");
        }
        leaveOut = leaveOut == null ? List.of() : List.copyOf(leaveOut);
        if (architecture != null) {
            throw new IllegalArgumentException("architecture '" + architecture + "' is not a bottleneck adapter: "
                    + "the adapters technique reads bottleneck adapters, whose configuration names no architecture");
        }
        unsupported("lnBefore", lnBefore, "a layer norm inside the adapter");
        unsupported("lnAfter", lnAfter, "a layer norm inside the adapter");
        unsupported("isParallel", isParallel, "parallel adapters");
        unsupported("useGating", useGating, "gated adapters");
        unsupported("phmLayer", phmLayer, "PHM layers (Compacter)");
        if (invAdapter != null) {
            throw new IllegalArgumentException("invAdapter '" + invAdapter + "' is not supported (invertible adapters)");
        }
        if (stochasticDepth != null && stochasticDepth != 0) {
            throw new IllegalArgumentException("stochasticDepth " + stochasticDepth + " is not supported; it must be 0");
        }
    }

    private static void unsupported(String field, Boolean value, String what) {
        if (value != null && value) {
            throw new IllegalArgumentException(field + " is not supported (" + what + "); it must be false");
        }
    }

    /** A number as a double, or a per-layer map with numeric values, checked to be positive. */
    private static Object reductionFactors(Object value) {
        if (value instanceof Number number) {
            return positive("reductionFactor", number);
        }
        if (value instanceof Map<?, ?> map) {
            Map<String, Double> factors = new LinkedHashMap<>();
            for (var entry : map.entrySet()) {
                String key = String.valueOf(entry.getKey());
                if (!key.equals("default") && !key.matches("\\d+")) {
                    throw new IllegalArgumentException("reductionFactor: '" + key
                            + "' is neither a layer index nor 'default'");
                }
                if (!(entry.getValue() instanceof Number number)) {
                    throw new IllegalArgumentException("reductionFactor: the value for '" + key + "' must be a number, was '"
                            + entry.getValue() + "'");
                }
                factors.put(key, positive("reductionFactor " + key, number));
            }
            return Collections.unmodifiableMap(factors);
        }
        throw new IllegalArgumentException("reductionFactor must be a number or a map from layer to number, was '"
                + value + "'");
    }

    private static double positive(String field, Number number) {
        double value = number.doubleValue();
        if (!(value > 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException(field + " must be a positive number, was " + number);
        }
        return value;
    }

    /** The Houlsby defaults (double_seq_bn). */
    public static AdaptersConfig houlsby() {
        return preset("double_seq_bn");
    }

    /** The defaults of {@code preset} (double_seq_bn or seq_bn). */
    public static AdaptersConfig preset(String preset) {
        return new AdaptersConfig(preset, null, null, null, null, null, null, null, null, null, null, null, null, null,
                null, null, null, null, null, null, null, null, null);
    }

    /** The activation of the bottleneck. */
    public Activation activation() {
        return ACTIVATIONS.get(nonLinearity);
    }

    /** s, the factor on the bottleneck's output. */
    public double scalingFactor() {
        return ((Number) scaling).doubleValue();
    }

    /** Whether adapters read the residual stream after the sub-layer's add (Pfeiffer) instead of its output. */
    public boolean readsResidualStream() {
        return originalLnBefore;
    }

    /** The reduction factor of {@code layer}. */
    public double reductionFactor(int layer) {
        if (reductionFactor instanceof Double r) {
            return r;
        }
        @SuppressWarnings("unchecked")
        Map<String, Double> factors = (Map<String, Double>) reductionFactor;
        Double r = factors.getOrDefault(Integer.toString(layer), factors.get("default"));
        if (r == null) {
            throw new IllegalArgumentException("reductionFactor gives no value for layer " + layer + " and no 'default'");
        }
        return r;
    }

    /**
     * The bottleneck width of {@code layer} for hidden size {@code hidden}: {@code bottleneckSize},
     * or as the library computes it, {@code max(1, int(hidden // r))} with Python's floor division
     * of floats (which can round below the exact quotient: 5 // (5/3) is 2).
     */
    public int bottleneck(int layer, int hidden) {
        if (bottleneckSize != null) {
            return bottleneckSize;
        }
        double r = reductionFactor(layer);
        // CPython's float floor division: the quotient of (a − fmod(a, b)) by b, floored, rounded up
        // when it lies more than half above its floor.
        double mod = hidden % r;
        double div = (hidden - mod) / r;
        double floor = Math.floor(div);
        if (div - floor > 0.5) {
            floor += 1;
        }
        return (int) Math.max(1, floor);
    }

    /** Whether layer {@code layer} gets adapters. */
    public boolean adapts(int layer) {
        return !leaveOut.contains(layer);
    }
}

package io.gradus.api.generation;

/**
 * Which model generates: the base model, the base with a saved adapter, or a job's latest result.
 *
 * @param base a Hugging Face model folder; {@code null} means the built-in model (ignored with {@code job})
 * @param adapter a saved adapter folder in PEFT's layout ({@code adapter_config.json},
 *     {@code adapter_model.safetensors}) applied to the base, or {@code null}
 * @param job a job's id: its result once it succeeded, else its latest checkpoint on the job's own
 *     base model (the job's tuner applied with the job's settings, the trained tensors copied in);
 *     {@code null} for none
 */
public record ModelSource(String base, String adapter, String job) {

    public ModelSource {
        base = blankToNull(base);
        adapter = blankToNull(adapter);
        job = blankToNull(job);
        if (job != null && (base != null || adapter != null)) {
            throw new IllegalArgumentException("model: give either a job or a base model (with an adapter), not both");
        }
    }

    /** The built-in model as it is. */
    public static ModelSource builtIn() {
        return new ModelSource(null, null, null);
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value.trim();
    }
}

package io.gradus.core.train;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.Parameter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW over the trainable parameters: two moment buffers per parameter, created on first use, so
 * frozen parameters cost no optimizer memory. Weight decay applies to matrices only, not to 1-D
 * parameters such as norm weights (the usual practice, as in nanoGPT and most fine-tuning recipes).
 */
public final class AdamW {

    /** The two moments of one parameter. */
    public record Moments(float[] first, float[] second) {}

    private final KernelBackend kernels;
    private final float beta1;
    private final float beta2;
    private final float eps;
    private final float weightDecay;
    private final Map<String, Moments> moments = new LinkedHashMap<>();
    private int steps;

    public AdamW(KernelBackend kernels, double beta1, double beta2, double eps, double weightDecay) {
        this.kernels = kernels;
        this.beta1 = (float) beta1;
        this.beta2 = (float) beta2;
        this.eps = (float) eps;
        this.weightDecay = (float) weightDecay;
    }

    /** Updates every parameter from its gradient with learning rate {@code lr}. */
    public void step(List<Parameter> parameters, double lr) {
        steps++;
        for (Parameter p : parameters) {
            Moments m = moments.computeIfAbsent(p.name(), k -> new Moments(new float[p.size()], new float[p.size()]));
            float decay = p.shape().length >= 2 ? weightDecay : 0f;
            kernels.adamw(p.values(), p.gradient(), m.first(), m.second(), p.size(), (float) lr, beta1, beta2, eps, decay,
                    steps);
        }
    }

    /** Updates done so far (the bias corrections depend on it). */
    public int steps() {
        return steps;
    }

    /** The moment buffers by parameter name, live: for checkpoints. */
    public Map<String, Moments> moments() {
        return moments;
    }

    /** Restores a checkpointed state. */
    public void restore(int steps, Map<String, Moments> saved) {
        this.steps = steps;
        moments.clear();
        moments.putAll(saved);
    }
}

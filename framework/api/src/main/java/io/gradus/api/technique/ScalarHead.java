package io.gradus.api.technique;

import static io.gradus.api.kernel.MatmulLayout.AB;
import static io.gradus.api.kernel.MatmulLayout.ABT;
import static io.gradus.api.kernel.MatmulLayout.ATB;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.Parameter;
import java.util.Arrays;

/**
 * A head with one output on chosen rows of the final hidden states: a reward model's {@code score}
 * (read at each sequence's last real token) or PPO's value head (at every position). With h the
 * gathered rows [R, C] and w the head's weight [1, C]:
 * <pre>
 *   forward    s = h·wᵀ                      [R]
 *   backward   dw += dsᵀ·h      dh = ds·w     (scattered back into dHidden's rows)
 * </pre>
 * The gather and the scatter-add are the embedding kernels with row indices as ids, the products
 * matmul kernels: every backend runs it.
 */
public final class ScalarHead {

    private final Parameter weight;
    private final int hidden;
    private final int[] rows;
    private final float[] gathered;
    private final float[] scores;
    private final float[] dGathered;

    /**
     * @param weight the head's weight [1, C]
     * @param rows the flat row indices (b·T + t) of the hidden states the head reads, one score each
     */
    public ScalarHead(Parameter weight, int[] rows) {
        int[] shape = weight.shape();
        if (shape.length != 2 || shape[0] != 1) {
            throw new IllegalArgumentException(weight.name() + " must have shape [1, hidden], has " + Arrays.toString(shape));
        }
        this.weight = weight;
        this.hidden = shape[1];
        this.rows = rows.clone();
        this.gathered = new float[rows.length * hidden];
        this.scores = new float[rows.length];
        this.dGathered = new float[rows.length * hidden];
    }

    /** The scores of the rows in {@code hiddenStates} [N, C]; the array is this head's, reused by the next call. */
    public float[] forward(float[] hiddenStates, KernelBackend kernels) {
        kernels.embeddingForward(gathered, hiddenStates, rows, rows.length, hidden);
        kernels.matmul(ABT, scores, gathered, weight.values(), rows.length, 1, hidden, false);
        return scores;
    }

    /**
     * Given the gradient of the loss with respect to each score of the last {@link #forward}, adds
     * the weight's gradient (when it trains) and writes the hidden states' gradient into
     * {@code dHidden} [N, C] (added to what is there, zero elsewhere if it was zero).
     */
    public void backward(float[] dScores, float[] dHidden, KernelBackend kernels) {
        if (weight.trainable()) {
            kernels.matmul(ATB, weight.gradient(), dScores, gathered, 1, hidden, rows.length, true);
        }
        kernels.matmul(AB, dGathered, dScores, weight.values(), rows.length, hidden, 1, false);
        kernels.embeddingBackward(dHidden, dGathered, rows, rows.length, hidden);
    }
}

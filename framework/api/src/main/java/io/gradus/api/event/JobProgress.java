package io.gradus.api.event;

import java.time.Instant;
import java.util.Map;

/**
 * Training metrics after one optimizer step of a job.
 *
 * @param jobId the job
 * @param step optimizer steps done so far
 * @param totalSteps optimizer steps planned
 * @param loss mean loss of this step
 * @param learningRate learning rate used by this step
 * @param gradNorm global L2 norm of the gradient before clipping
 * @param tokensPerSecond training throughput over this step
 * @param etaSeconds estimated seconds until the last step
 * @param metrics the objective's own figures of this step ({@code StepResult.metrics}: perplexity,
 *     TRL's reward, DPO and PPO names), empty when it has none (since 1.2)
 */
public record JobProgress(
        Instant time,
        String jobId,
        long step,
        long totalSteps,
        double loss,
        double learningRate,
        double gradNorm,
        double tokensPerSecond,
        double etaSeconds,
        Map<String, Double> metrics)
        implements GradusEvent {

    public JobProgress {
        metrics = metrics == null ? Map.of() : Map.copyOf(metrics);
    }

    /** Progress without the objective's own metrics (the 1.1 shape). */
    public JobProgress(Instant time, String jobId, long step, long totalSteps, double loss, double learningRate,
            double gradNorm, double tokensPerSecond, double etaSeconds) {
        this(time, jobId, step, totalSteps, loss, learningRate, gradNorm, tokensPerSecond, etaSeconds, Map.of());
    }

    @Override
    public String type() {
        return "job.progress";
    }
}

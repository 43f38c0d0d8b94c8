package io.gradus.api.event;

import java.time.Instant;

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
        double etaSeconds)
        implements GradusEvent {

    @Override
    public String type() {
        return "job.progress";
    }
}

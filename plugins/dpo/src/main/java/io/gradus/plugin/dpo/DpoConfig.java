package io.gradus.plugin.dpo;

import io.gradus.api.technique.Live;
import io.gradus.api.technique.Setting;
import java.util.List;

/**
 * Configuration of direct preference optimisation, with TRL's {@code DPOConfig} meanings.
 *
 * @param beta β: how far the policy may move from the reference (higher: less); IPO's τ (default 0.1,
 *     TRL's). Live: it may change while a job runs
 * @param lossType {@code sigmoid} (DPO, default), {@code ipo}, {@code hinge} or {@code robust}
 *     (see {@link DpoLoss})
 * @param labelSmoothing ε, the assumed share of flipped preference labels: conservative DPO with
 *     {@code sigmoid}, robust DPO with {@code robust}; in [0, 0.5) (default 0)
 * @param reference the frozen model the policy is measured against: {@code initial} (default: the
 *     policy as the job starts), {@code base} (every adapter switched off) or the path of a model or
 *     adapter folder, relative to the job file
 * @param precomputeReferenceLogps compute the reference log-probabilities of the whole training set
 *     once, before step 1 (TRL's {@code precompute_ref_log_probs}; default false)
 */
public record DpoConfig(
        @Live @Setting(description = "How far the policy may move from the reference (higher: less); IPO's tau.",
                min = 0, exclusiveMin = true) Double beta,
        @Setting(description = "sigmoid (DPO), ipo, hinge (SLiC) or robust (robust DPO).",
                choices = {"sigmoid", "ipo", "hinge", "robust"}) String lossType,
        @Setting(description = "Assumed share of flipped preference labels: conservative DPO with sigmoid, robust DPO "
                + "with robust.", min = 0, max = 0.5, exclusiveMax = true) Double labelSmoothing,
        @Setting(description = "The frozen reference: initial (the policy as the job starts), base (adapters off), "
                + "or the folder of another model or adapter.") String reference,
        @Setting(description = "Compute the reference log-probabilities of the whole training set once, before step 1.")
                Boolean precomputeReferenceLogps) {

    /** The losses {@link #lossType()} may name. */
    public static final List<String> LOSS_TYPES = List.of("sigmoid", "ipo", "hinge", "robust");
    /** {@link #reference()}: the policy as the job starts. */
    public static final String INITIAL = "initial";
    /** {@link #reference()}: the base model, every tuning switched off. */
    public static final String BASE = "base";

    public DpoConfig {
        beta = beta == null ? 0.1 : beta;
        lossType = lossType == null ? "sigmoid" : lossType;
        labelSmoothing = labelSmoothing == null ? 0.0 : labelSmoothing;
        reference = reference == null || reference.isBlank() ? INITIAL : reference;
        precomputeReferenceLogps = precomputeReferenceLogps != null && precomputeReferenceLogps;
        if (!(beta > 0) || Double.isInfinite(beta)) {
            throw new IllegalArgumentException("beta must be a number > 0, was " + beta);
        }
        if (!LOSS_TYPES.contains(lossType)) {
            throw new IllegalArgumentException("lossType must be one of " + String.join(", ", LOSS_TYPES) + ", was '"
                    + lossType + "'");
        }
        if (!(labelSmoothing >= 0 && labelSmoothing < 0.5)) {
            throw new IllegalArgumentException("labelSmoothing must be in [0, 0.5), was " + labelSmoothing);
        }
        if (labelSmoothing > 0 && !(lossType.equals("sigmoid") || lossType.equals("robust"))) {
            throw new IllegalArgumentException("labelSmoothing applies to the sigmoid (conservative DPO) and robust "
                    + "losses; lossType " + lossType + " has no label-noise form");
        }
    }

    /** TRL's defaults: sigmoid loss, β 0.1, no label smoothing, the initial policy as reference. */
    public static DpoConfig defaults() {
        return new DpoConfig(null, null, null, null, null);
    }
}

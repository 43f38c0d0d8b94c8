package io.gradus.plugin.dpo;

import io.gradus.api.model.Linear;
import io.gradus.api.model.Model;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.Outputs;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.model.WeightsSnapshot;
import io.gradus.api.technique.SessionContext;
import io.gradus.api.technique.TechniqueException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The frozen model DPO measures the policy against, run only on no-grad passes (nothing is kept
 * for a backward pass). Which one the job's {@code reference} setting names:
 * <ul>
 *   <li>{@code initial}: the policy as the job starts. A snapshot of the trainable weights is taken
 *       when the session starts; before the first update {@link #settle} checks whether the tunings
 *       switched off compute exactly the same as the starting policy (a fresh LoRA adapter, B = 0) and
 *       then runs base passes, else passes with the snapshot swapped in;</li>
 *   <li>{@code base}: every tuning switched off;</li>
 *   <li>a folder: another model (or an adapter on its base), loaded frozen, of the policy's architecture.</li>
 * </ul>
 */
final class ReferenceModel {

    /** How a reference pass is run. */
    enum Pass {
        /** The policy's runner with every tuning switched off. */
        BASE,
        /** The policy's runner with the snapshot of the starting weights swapped in. */
        SNAPSHOT,
        /** Another model's runner. */
        FOLDER
    }

    private final String setting;
    private final WeightsSnapshot snapshot;
    private final ModelRunner folder;
    /** Null while {@code initial} has not been settled. */
    private Pass pass;
    private boolean settled;

    private ReferenceModel(String setting, WeightsSnapshot snapshot, ModelRunner folder, Pass pass) {
        this.setting = setting;
        this.snapshot = snapshot;
        this.folder = folder;
        this.pass = pass;
    }

    /**
     * The reference {@code config} names, for the job {@code context} starts.
     *
     * @throws TechniqueException when a folder does not load or is not the policy's architecture
     */
    static ReferenceModel of(DpoConfig config, SessionContext context) {
        return switch (config.reference()) {
            case DpoConfig.INITIAL -> new ReferenceModel(DpoConfig.INITIAL, context.snapshot("dpo-reference"), null, null);
            case DpoConfig.BASE -> new ReferenceModel(DpoConfig.BASE, null, null, Pass.BASE);
            default -> {
                ModelRunner other = context.frozenModel(config.reference());
                requireSameArchitecture(config.reference(), other, context.model());
                yield new ReferenceModel(config.reference(), null, other, Pass.FOLDER);
            }
        };
    }

    /** How the passes run now; null while {@code initial} is not settled. */
    Pass pass() {
        return pass;
    }

    /**
     * Before the policy's first update. For {@code initial}: base passes when switching every tuning
     * off changes no token log-probability of {@code batch} (bit for bit), snapshot passes otherwise
     * (a saved adapter the job started from, full fine-tuning, a tuner whose fresh modules are not the
     * identity). For {@code base}: one pass, so that a tuning that cannot be switched off is refused
     * before any step. Nothing to do after the first call.
     */
    void settle(TokenBatch batch, ModelRunner runner) {
        if (settled) {
            return;
        }
        settled = true;
        if (pass == Pass.BASE) {
            infer(batch, runner);
        }
        if (pass != null) {
            return;
        }
        int rows = batch.batchSize() * batch.seqLen();
        float[] policy = new float[rows];
        float[] base = new float[rows];
        runner.kernels().tokenLogProbs(runner.infer(batch, true).logits(), rows, runner.vocabSize(), batch.labels(), policy,
                null);
        try {
            runner.kernels().tokenLogProbs(runner.inferBase(batch, true).logits(), rows, runner.vocabSize(), batch.labels(),
                    base, null);
            pass = Arrays.equals(policy, base) ? Pass.BASE : Pass.SNAPSHOT;
        } catch (IllegalStateException | UnsupportedOperationException e) {
            pass = Pass.SNAPSHOT; // the tuning changes the weights themselves (full fine-tuning)
        }
    }

    /** Restores a settled {@code initial} choice from a checkpoint. */
    void restore(Pass restored) {
        if (setting.equals(DpoConfig.INITIAL)) {
            pass = restored;
        }
        settled = true;
    }

    /**
     * A no-grad pass of the reference over {@code batch}, with logits. An unsettled {@code initial}
     * runs with the snapshot, which is right whatever the tuning.
     */
    Outputs infer(TokenBatch batch, ModelRunner runner) {
        Pass now = pass == null ? Pass.SNAPSHOT : pass;
        return switch (now) {
            case SNAPSHOT -> runner.infer(batch, true, snapshot);
            case FOLDER -> folder.infer(batch, true);
            case BASE -> {
                try {
                    yield runner.inferBase(batch, true);
                } catch (IllegalStateException e) {
                    throw new TechniqueException("reference: base needs a tuner whose additions can be switched off (LoRA, "
                            + "adapters); this job's tuner changes the weights themselves: use reference: initial", e);
                }
            }
        };
    }

    /**
     * Refuses a reference folder whose model is not built as the policy: its vocabulary size, layers,
     * hidden size, and every linear module by name and shape.
     */
    static void requireSameArchitecture(String path, ModelRunner reference, Model policy) {
        List<String> differences = new ArrayList<>();
        int policyVocab = policy.parameter("model.embed_tokens.weight").shape()[0];
        if (reference.vocabSize() != policyVocab) {
            differences.add("a vocabulary of " + reference.vocabSize() + " tokens, the policy's " + policyVocab);
        }
        Model model = reference.model();
        if (model.layerCount() != policy.layerCount()) {
            differences.add(model.layerCount() + " layers, the policy " + policy.layerCount());
        }
        if (model.hiddenSize() != policy.hiddenSize()) {
            differences.add("hidden size " + model.hiddenSize() + ", the policy's " + policy.hiddenSize());
        }
        if (differences.isEmpty()) {
            Map<String, Linear> theirs = model.linears();
            for (var mine : policy.linears().entrySet()) {
                Linear other = theirs.get(mine.getKey());
                if (other == null) {
                    differences.add("no module " + mine.getKey());
                } else if (other.inFeatures() != mine.getValue().inFeatures()
                        || other.outFeatures() != mine.getValue().outFeatures()) {
                    differences.add(mine.getKey() + " of " + other.outFeatures() + "x" + other.inFeatures() + ", the policy's "
                            + mine.getValue().outFeatures() + "x" + mine.getValue().inFeatures());
                }
            }
        }
        if (!differences.isEmpty()) {
            throw new TechniqueException("the reference model " + path + " is not built as the policy: it has "
                    + String.join("; ", differences.subList(0, Math.min(3, differences.size())))
                    + (differences.size() > 3 ? "; and " + (differences.size() - 3) + " more differences" : ""));
        }
    }
}

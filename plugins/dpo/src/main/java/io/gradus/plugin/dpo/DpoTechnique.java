package io.gradus.plugin.dpo;

import io.gradus.api.data.Example;
import io.gradus.api.data.SequenceGroup;
import io.gradus.api.data.TextTokenizer;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.Batching;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.ObjectiveSession;
import io.gradus.api.technique.SessionContext;
import io.gradus.api.technique.StepResult;
import io.gradus.api.technique.TechniqueException;
import io.gradus.api.technique.TechniqueName;
import io.gradus.plugin.reward.PreferenceData;
import java.util.Map;
import org.osgi.service.component.annotations.Component;

/**
 * The {@code dpo} objective: direct preference optimisation (Rafailov et al. 2023) as TRL's
 * {@code DPOTrainer} computes it. Each record is a preference pair in one of TRL's formats
 * ({@link PreferenceData}); a batch holds {@code hyper.batchSize} pairs, chosen and rejected in
 * adjacent rows, and the work of a step is {@link DpoSession}'s.
 */
@Component(service = Objective.class)
@TechniqueName("dpo")
public final class DpoTechnique implements Objective<DpoConfig> {

    @Override
    public Class<DpoConfig> configType() {
        return DpoConfig.class;
    }

    @Override
    public String description() {
        return "DPO: the policy prefers the chosen completion more than a frozen reference does (sigmoid, IPO, hinge, "
                + "robust losses)";
    }

    @Override
    public Batching batching(DpoConfig config) {
        return Batching.GROUPS;
    }

    /**
     * The record as a pair (chosen, rejected). Beyond what {@link PreferenceData} refuses, a record
     * that gives one reference log-probability without the other, and a pair with a completion that
     * has no token to score (with an implicit prompt, a completion that is all shared prefix), are
     * refused with the field named.
     */
    @Override
    public SequenceGroup encodeGroup(DpoConfig config, Map<String, Object> record, TextTokenizer tokenizer) {
        SequenceGroup pair = PreferenceData.pair(record, tokenizer);
        boolean chosen = pair.values().containsKey(DpoSession.REF_CHOSEN);
        if (chosen != pair.values().containsKey(DpoSession.REF_REJECTED)) {
            throw new IllegalArgumentException("\"" + (chosen ? DpoSession.REF_REJECTED : DpoSession.REF_CHOSEN)
                    + "\" is missing beside \"" + (chosen ? DpoSession.REF_CHOSEN : DpoSession.REF_REJECTED)
                    + "\": a record gives both reference log-probabilities or neither");
        }
        String[] names = {"chosen", "rejected"};
        for (int s = 0; s < 2; s++) {
            Example sequence = pair.sequences().get(s);
            boolean scored = false;
            // Position 0 has nothing before it: a target there is never scored.
            for (int t = 1; t < sequence.targets().length && !scored; t++) {
                scored = sequence.targets()[t];
            }
            if (!scored) {
                throw new IllegalArgumentException("the " + names[s] + " completion has no token to score: it is empty "
                        + "once the prompt (or the prefix chosen and rejected share) is taken off");
            }
        }
        return pair;
    }

    /** A single sequence whose completion's log-probability is scored: text, prompt + completion, messages or ids. */
    @Override
    public Example encode(DpoConfig config, Map<String, Object> record, TextTokenizer tokenizer) {
        return PreferenceData.single(record, tokenizer);
    }

    @Override
    public ObjectiveSession<DpoConfig> session(DpoConfig config, SessionContext context) {
        return new DpoSession(config, context);
    }

    /**
     * DPO needs a job's session: its reference (a snapshot of the starting weights, a frozen model)
     * and its precomputed log-probabilities belong to one job. The trainer always steps the session.
     */
    @Override
    public StepResult step(DpoConfig config, TokenBatch batch, ModelRunner runner, float gradScale) {
        throw new TechniqueException("the dpo objective runs in a job's session, which holds its reference model");
    }
}

package io.gradus.plugin.pretrain;

import io.gradus.api.data.Example;
import io.gradus.api.data.TextTokenizer;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.NextTokenLoss;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.StepResult;
import io.gradus.api.technique.TechniqueName;
import java.util.Map;
import org.osgi.service.component.annotations.Component;

/**
 * The {@code pretrain} objective: self-supervised next-token prediction.
 *
 * <p>loss = (1/N) * sum over labelled positions i of -log softmax(logits_i)[label_i], where N is the
 * number of labelled positions in the batch. Its gradient with respect to the logits,
 * (softmax - onehot) / N, comes from the same fused kernel and is handed to the backward pass.
 */
@Component(service = Objective.class)
@TechniqueName("pretrain")
public final class PretrainTechnique implements Objective<PretrainConfig> {

    @Override
    public Class<PretrainConfig> configType() {
        return PretrainConfig.class;
    }

    @Override
    public String description() {
        return "Pre-training: next-token cross-entropy on raw text";
    }

    @Override
    public StepResult step(PretrainConfig config, TokenBatch batch, ModelRunner runner, float gradScale) {
        return NextTokenLoss.step(batch, runner, gradScale);
    }

    /**
     * A document {@code {"text": "..."}} becomes BOS + its tokens + EOS, every token after BOS a
     * target: the model learns where documents end, and packing never lets one document's tokens
     * predict the next one's first token without the boundary in between.
     */
    @Override
    public Example encode(PretrainConfig config, Map<String, Object> record, TextTokenizer tokenizer) {
        if (!(record.get("text") instanceof String text)) {
            throw new IllegalArgumentException("a pre-training record needs a \"text\" string field; this one has "
                    + record.keySet());
        }
        int[] tokens = tokenizer.encode(text);
        int bos = tokenizer.bosId() >= 0 ? 1 : 0;
        int eos = tokenizer.eosId() >= 0 ? 1 : 0;
        int[] ids = new int[bos + tokens.length + eos];
        if (bos == 1) {
            ids[0] = tokenizer.bosId();
        }
        System.arraycopy(tokens, 0, ids, bos, tokens.length);
        if (eos == 1) {
            ids[ids.length - 1] = tokenizer.eosId();
        }
        return Example.allTargets(ids);
    }
}

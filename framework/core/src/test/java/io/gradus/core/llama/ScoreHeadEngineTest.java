package io.gradus.core.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradus.api.model.Outputs;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.Sampling;
import io.gradus.api.model.ScoreHead;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.model.WeightsSnapshot;
import io.gradus.api.technique.ScalarHead;
import io.gradus.api.technique.Tuning;
import io.gradus.kernels.cpu.CpuKernelBackend;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The engine's passes for alignment: hidden states and their backward, no-grad passes, snapshots, score heads. */
class ScoreHeadEngineTest {

    private static final CpuKernelBackend KERNELS = new CpuKernelBackend();
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    /** L = Σ hidden ⊙ R over the hidden states of a training pass, with its gradient R. */
    private static double hiddenLoss(LlamaEngine engine, TokenBatch batch, float[] r) {
        float[] hidden = engine.train(batch, false).hidden();
        double loss = 0;
        for (int i = 0; i < r.length; i++) {
            loss += (double) hidden[i] * r[i];
        }
        return loss;
    }

    @Test
    @DisplayName("a gradient on the hidden states back-propagates to every parameter as finite differences say")
    void hiddenStateGradientMatchesFiniteDifferences() {
        LlamaModel model = LlamaGradientTest.tinyModel(false, 5);
        model.parameters().forEach(p -> p.setTrainable(true));
        LlamaEngine engine = new LlamaEngine(model, KERNELS);
        TokenBatch batch = LlamaGradientTest.batch(model.config(), 9);
        float[] r = new float[batch.batchSize() * batch.seqLen() * model.config().hiddenSize()];
        Random random = new Random(4);
        for (int i = 0; i < r.length; i++) {
            r[i] = (float) random.nextGaussian();
        }
        hiddenLoss(engine, batch, r);
        engine.backward(null, r);

        assertThat(LlamaGradientTest.finiteDifferenceFailures(model, () -> hiddenLoss(engine, batch, r), 1e-2)).isEmpty();
    }

    @Test
    @DisplayName("gradients on logits and hidden states together are the sum of each alone")
    void logitsAndHiddenGradientsAdd() {
        TokenBatch batch = LlamaGradientTest.batch(LlamaGradientTest.tinyModel(true, 5).config(), 9);
        float[][] results = new float[3][];
        for (int run = 0; run < 3; run++) {
            LlamaModel model = LlamaGradientTest.tinyModel(true, 5);
            Parameter q = model.parameter("model.layers.0.self_attn.q_proj.weight");
            q.setTrainable(true);
            LlamaEngine engine = new LlamaEngine(model, KERNELS);
            Outputs out = engine.train(batch, true);
            float[] dLogits = new float[out.logits().length];
            KERNELS.crossEntropy(out.logits(), 10, engine.vocabSize(), batch.labels(), dLogits, 0.1f);
            float[] dHidden = new float[out.hidden().length];
            for (int i = 0; i < dHidden.length; i++) {
                dHidden[i] = (float) Math.sin(i);
            }
            engine.backward(run == 1 ? null : dLogits, run == 0 ? null : dHidden);
            results[run] = q.gradient().clone();
        }
        for (int i = 0; i < results[0].length; i++) {
            assertThat(results[2][i]).isCloseTo(results[0][i] + results[1][i],
                    org.assertj.core.api.Assertions.within(1e-5f));
        }
    }

    @Test
    @DisplayName("a no-grad pass gives the training pass's outputs and leaves the pending backward pass untouched")
    void noGradPassDoesNotDisturbTraining() {
        LlamaModel model = LlamaGradientTest.tinyModel(false, 5);
        model.parameters().forEach(p -> p.setTrainable(true));
        LlamaEngine engine = new LlamaEngine(model, KERNELS);
        TokenBatch batch = LlamaGradientTest.batch(model.config(), 9);
        TokenBatch other = LlamaGradientTest.batch(model.config(), 10);

        float[] trained = engine.train(batch, true).logits().clone();
        float[] inferred = engine.infer(batch, true).logits();
        assertThat(inferred).containsExactly(trained);

        float[] dLogits = new float[trained.length];
        KERNELS.crossEntropy(trained, 10, engine.vocabSize(), batch.labels(), dLogits, 0.1f);
        engine.backward(dLogits);
        float[] alone = model.parameters().getFirst().gradient().clone();

        model.parameters().forEach(p -> Arrays.fill(p.gradient(), 0f));
        engine.train(batch, true);
        engine.infer(other, true); // a reference pass in between
        engine.backward(dLogits);
        assertThat(model.parameters().getFirst().gradient()).containsExactly(alone);
    }

    @Test
    @DisplayName("a snapshot pass computes with the frozen values and puts the live ones back")
    void snapshotPass() {
        LlamaModel model = LlamaGradientTest.tinyModel(false, 5);
        Parameter q = model.parameter("model.layers.0.self_attn.q_proj.weight");
        q.setTrainable(true);
        LlamaEngine engine = new LlamaEngine(model, KERNELS);
        TokenBatch batch = LlamaGradientTest.batch(model.config(), 9);
        float[] before = engine.infer(batch, true).logits().clone();
        WeightsSnapshot initial = new WeightsSnapshot("initial", List.of(q));
        float[] live = q.values();
        for (int i = 0; i < live.length; i++) {
            live[i] += 0.3f;
        }
        float[] changed = live.clone();

        assertThat(engine.infer(batch, true, initial).logits()).containsExactly(before);
        assertThat(q.values()).containsExactly(changed);
        assertThat(engine.infer(batch, true).logits()).isNotEqualTo(before);
    }

    @Test
    @DisplayName("inferBase is refused, naming the tuner, when a tuning changed the weights; the others are on again")
    void inferBaseRefusedWhenATuningCannotBeSwitchedOff() {
        LlamaModel model = LlamaGradientTest.tinyModel(false, 5);
        List<Boolean> switched = new java.util.ArrayList<>();
        Tuning adapter = new Tuning() {
            @Override
            public List<Parameter> trainableParameters() {
                return List.of();
            }

            @Override
            public boolean setEnabled(boolean enabled) {
                switched.add(enabled);
                return true;
            }
        };
        Tuning full = List::of; // changes the weights themselves: cannot be switched off
        TokenBatch batch = LlamaGradientTest.batch(model.config(), 9);

        assertThatThrownBy(() -> new LlamaEngine(model, KERNELS, List.of(adapter, full), "full").inferBase(batch, true))
                .hasMessageStartingWith("the tuner 'full' changed the weights themselves")
                .hasMessageContaining("snapshot");
        assertThat(switched).as("switched off, then on again").containsExactly(false, true);
        assertThat(new LlamaEngine(model, KERNELS, List.of(adapter)).inferBase(batch, true).logits())
                .as("with switchable tunings only, the base pass runs").containsExactly(
                        new LlamaEngine(model, KERNELS).infer(batch, true).logits());
    }

    @Test
    @DisplayName("a causal LM becomes a sequence classifier: lm_head goes, score.weight ~ N(0, initializer_range) comes")
    void convertsToSequenceClassifier() {
        LlamaModel model = LlamaGradientTest.tinyModel(false, 5);
        model.toSequenceClassifier(7);

        ScoreHead head = model.scoreHead().orElseThrow();
        assertThat(head.weight().name()).isEqualTo("score.weight");
        assertThat(head.weight().shape()).containsExactly(1, 8);
        assertThat(head.padTokenId()).as("no pad_token_id in config.json: none").isEqualTo(-1);
        assertThat(model.parameters()).extracting(Parameter::name).doesNotContain("lm_head.weight").endsWith("score.weight");
        assertThatThrownBy(model::lmHead).hasMessageContaining("sequence classifier");
        assertThatThrownBy(() -> new LlamaEngine(model, KERNELS).forward(LlamaGradientTest.batch(model.config(), 1)))
                .hasMessageContaining("no language-modelling head");

        LlamaModel wide = LlamaModel.initialize(new LlamaConfig(11, 4000, 12, 1, 4, 2, 1000, 1e-5, 10000.0, 64, true, 1, 2), 1);
        wide.toSequenceClassifier(3);
        double sumSquares = 0;
        for (float v : wide.scoreHead().orElseThrow().weight().values()) {
            sumSquares += v * v;
        }
        assertThat(Math.sqrt(sumSquares / 4000)).as("standard deviation of the new head").isBetween(0.019, 0.021);
    }

    @Test
    @DisplayName("a sequence classifier saves as LlamaForSequenceClassification and loads back with the same scores")
    void savesAndLoadsSequenceClassifier() throws IOException {
        LlamaModel model = LlamaGradientTest.tinyModel(true, 5);
        model.toSequenceClassifier(7);
        model.save(dir);

        JsonNode config = JSON.readTree(dir.resolve("config.json").toFile());
        assertThat(config.at("/architectures/0").asText()).isEqualTo("LlamaForSequenceClassification");
        assertThat(config.get("num_labels").asInt()).isEqualTo(1);
        assertThat(config.at("/id2label/0").asText()).isEqualTo("LABEL_0");
        assertThat(config.has("pad_token_id")).as("the base has none, so neither has the classifier").isFalse();

        LlamaModel loaded = LlamaModel.load(dir);
        assertThat(loaded.scoreHead().orElseThrow().weight().values())
                .containsExactly(model.scoreHead().orElseThrow().weight().values());
        int[] ids = {1, 5, 6, 7, 2, 2, 1, 9, 3, 2, 2, 2};
        TokenBatch batch = new TokenBatch(2, 6, ids, new int[12], new int[] {5, 4}, null);
        assertThat(scores(loaded, batch)).containsExactly(scores(model, batch));
    }

    @Test
    @DisplayName("without a pad id, each row scores at its last real token, EOS included: transformers' score of it alone")
    void padlessScoresAsTransformersAlone() {
        LlamaModel model = LlamaGradientTest.tinyModel(false, 5);
        model.toSequenceClassifier(7);
        assertThat(model.scoreHead().orElseThrow().padTokenId()).isEqualTo(-1);
        // Rows padded with EOS (2) after lengths 5, 3 and 6; the first and third end in a real EOS.
        int[][] sequences = {{1, 5, 6, 7, 2}, {1, 9, 3}, {1, 4, 2, 8, 10, 2}};
        int seqLen = 7;
        int[] ids = new int[sequences.length * seqLen];
        Arrays.fill(ids, 2);
        int[] lengths = new int[sequences.length];
        for (int r = 0; r < sequences.length; r++) {
            System.arraycopy(sequences[r], 0, ids, r * seqLen, sequences[r].length);
            lengths[r] = sequences[r].length;
        }
        float[] batched = scores(model, new TokenBatch(3, seqLen, ids, new int[ids.length], lengths, null));

        for (int r = 0; r < sequences.length; r++) {
            // transformers without pad_token_id: a batch of one, the score at position -1 (the last token).
            int n = sequences[r].length;
            TokenBatch alone = new TokenBatch(1, n, sequences[r], new int[n]);
            float[] hidden = new LlamaEngine(model, KERNELS).infer(alone, false).hidden();
            float[] w = model.scoreHead().orElseThrow().weight().values();
            double score = 0;
            for (int c = 0; c < w.length; c++) {
                score += (double) hidden[(n - 1) * w.length + c] * w[c];
            }
            assertThat((double) batched[r]).as("row %d", r).isCloseTo(score, within(1e-5));
        }
        TokenBatch skipping = new TokenBatch(3, seqLen, ids, new int[ids.length], lengths, null);
        assertThat(skipping.lastTokens(2)).as("with pad id EOS the trailing EOS would be skipped instead")
                .containsExactly(3, seqLen + 2, 2 * seqLen + 4);
    }

    private static float[] scores(LlamaModel model, TokenBatch batch) {
        LlamaEngine engine = new LlamaEngine(model, KERNELS);
        ScoreHead head = model.scoreHead().orElseThrow();
        return new ScalarHead(head.weight(), batch.lastTokens(head.padTokenId())).forward(engine.infer(batch, false).hidden(),
                KERNELS).clone();
    }

    @Test
    @DisplayName("a sequence classifier whose config gives another number of labels is refused naming the field")
    void refusesOtherLabelCounts() throws IOException {
        LlamaModel model = LlamaGradientTest.tinyModel(true, 5);
        model.toSequenceClassifier(7);
        model.save(dir);
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        config.putObject("id2label").put("0", "bad").put("1", "good");
        JSON.writeValue(dir.resolve("config.json").toFile(), config);
        assertThatThrownBy(() -> LlamaModel.load(dir)).hasMessageContaining("config.json").hasMessageContaining("id2label")
                .hasMessageContaining("2 labels");

        config.remove("id2label");
        config.remove("num_labels");
        JSON.writeValue(dir.resolve("config.json").toFile(), config);
        assertThatThrownBy(() -> LlamaModel.load(dir)).hasMessageContaining("num_labels").hasMessageContaining("2 labels");
    }

    @Test
    @DisplayName("generation through the runner is the generator's, from the current weights")
    void generatesThroughTheRunner() {
        LlamaModel model = LlamaGradientTest.tinyModel(false, 5);
        LlamaEngine engine = new LlamaEngine(model, KERNELS);
        int[] prompt = {1, 4, 5};
        int[] viaRunner = engine.generate(prompt, new Sampling(0.8, 0, 1, 6, 11), -1);
        int[] direct = new Generator(model, KERNELS, 64).generate(prompt, new Sampling(0.8, 0, 1, 6, 11), -1,
                t -> {});
        assertThat(viaRunner).hasSize(6).containsExactly(direct);
    }
}

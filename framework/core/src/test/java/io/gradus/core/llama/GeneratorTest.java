package io.gradus.core.llama;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.model.Sampling;
import io.gradus.api.model.TokenBatch;
import io.gradus.kernels.cpu.CpuKernelBackend;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class GeneratorTest {

    private static final CpuKernelBackend KERNELS = new CpuKernelBackend();

    private static LlamaModel model() {
        return LlamaGradientTest.tinyModel(false, 21);
    }

    @Test
    @DisplayName("with the key/value cache, each step's logits equal a full forward pass over the whole sequence")
    void cacheMatchesFullRecomputation() {
        assertCacheMatchesFullForward(model());
    }

    /**
     * Generating greedily token by token, each step's logits from the cache equal the last row of a
     * full forward pass of the training engine over the whole sequence so far (within 1e-5).
     */
    static void assertCacheMatchesFullForward(LlamaModel model) {
        Generator generator = new Generator(model, KERNELS, 32);
        LlamaEngine engine = new LlamaEngine(model, KERNELS);
        int vocab = model.config().vocabSize();

        int[] sequence = {1, 4, 7, 2};
        float[] cached = generator.append(sequence);
        for (int step = 0; step < 6; step++) {
            float[] full = engine.forward(TokenBatch.nextToken(1, sequence.length, sequence));
            float[] lastRow = Arrays.copyOfRange(full, (sequence.length - 1) * vocab, sequence.length * vocab);
            double maxDiff = 0;
            for (int j = 0; j < vocab; j++) {
                maxDiff = Math.max(maxDiff, Math.abs(lastRow[j] - cached[j]));
            }
            assertThat(maxDiff).as("step %d: max |cached - full|", step).isLessThan(1e-5);
            int next = Generator.choose(cached, Sampling.greedy(1), new Random());
            sequence = Arrays.copyOf(sequence, sequence.length + 1);
            sequence[sequence.length - 1] = next;
            cached = generator.append(new int[] {next});
        }
    }

    @Test
    @DisplayName("greedy decoding stops at the stop token or the token budget; top-k 1 is greedy")
    void greedyAndStops() {
        Generator generator = new Generator(model(), KERNELS, 64);
        int[] greedy = generator.generate(new int[] {1, 3}, Sampling.greedy(10), -1, t -> {});
        assertThat(greedy).hasSize(10);
        int[] topOne = generator.generate(new int[] {1, 3}, new Sampling(1.5, 1, 1, 10, 99), -1, t -> {});
        assertThat(topOne).containsExactly(greedy);
        int[] stopped = generator.generate(new int[] {1, 3}, Sampling.greedy(10), greedy[2], t -> {});
        assertThat(stopped).containsExactly(Arrays.copyOf(greedy, Arrays.stream(greedy).boxed().toList().indexOf(greedy[2]) + 1));
    }

    @Test
    @DisplayName("sampling is reproducible with a seed and varies across seeds")
    void seededSampling() {
        Generator generator = new Generator(model(), KERNELS, 64);
        var sampling = new Sampling(1.0, 0, 1.0, 12, 7);
        int[] first = generator.generate(new int[] {1}, sampling, -1, t -> {});
        int[] again = generator.generate(new int[] {1}, sampling, -1, t -> {});
        assertThat(again).containsExactly(first);
        Set<String> texts = new HashSet<>();
        for (long seed = 0; seed < 8; seed++) {
            Sampling seeded = new Sampling(1.0, 0, 1.0, 12, seed);
            texts.add(Arrays.toString(generator.generate(new int[] {1}, seeded, -1, t -> {})));
        }
        assertThat(texts.size()).as("distinct continuations from 8 seeds").isGreaterThan(1);
    }

    @Test
    @DisplayName("top-p keeps only the most likely tokens whose mass reaches p")
    void nucleus() {
        float[] logits = {0f, 3f, 2.5f, -1f};  // probabilities ≈ 0.03, 0.60, 0.36, 0.01
        Set<Integer> seen = new HashSet<>();
        Random random = new Random(1);
        for (int i = 0; i < 500; i++) {
            seen.add(Generator.choose(logits, new Sampling(1, 0, 0.9, 1, 0), random));
        }
        assertThat(seen).containsExactlyInAnyOrder(1, 2);
        for (int i = 0; i < 100; i++) {
            assertThat(Generator.choose(logits, new Sampling(1, 0, 0.5, 1, 0), random)).isEqualTo(1);
        }
    }
}

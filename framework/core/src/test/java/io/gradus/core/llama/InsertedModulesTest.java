package io.gradus.core.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.InsertedModule;
import io.gradus.api.model.InsertionPoint;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.TokenBatch;
import io.gradus.kernels.cpu.CpuKernelBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Modules inserted at the decoder layers' insertion points, through the engine and the generator:
 * gradients against finite differences, insertion order, generation against the batch forward pass,
 * and engines that share a model.
 */
class InsertedModulesTest {

    private static final CpuKernelBackend KERNELS = new CpuKernelBackend();

    /**
     * y = tanh(x ⊙ g), g [C] trainable. Its backward pass needs its output (1 − y² is tanh's
     * derivative), which it reads from the engine's saved activations.
     */
    static final class Tanh implements InsertedModule {
        final Parameter g;

        Tanh(String name, int c, Random random) {
            float[] values = new float[c];
            for (int i = 0; i < c; i++) {
                values[i] = (float) (0.5 + 0.3 * random.nextGaussian());
            }
            g = new Parameter(name, new int[] {c}, values);
        }

        @Override
        public int features() {
            return g.size();
        }

        @Override
        public void forward(float[] x, float[] y, float[][] workspace, int rows, KernelBackend kernels) {
            int c = features();
            for (int i = 0; i < rows * c; i++) {
                y[i] = (float) Math.tanh(x[i] * g.values()[i % c]);
            }
        }

        @Override
        public void backward(float[] x, float[] y, float[][] workspace, float[] dy, float[] dx, int rows,
                KernelBackend kernels) {
            int c = features();
            for (int i = 0; i < rows * c; i++) {
                float slope = 1 - y[i] * y[i];
                dx[i] += dy[i] * g.values()[i % c] * slope;
                if (g.trainable()) {
                    g.gradient()[i % c] += dy[i] * x[i] * slope;
                }
            }
        }

        @Override
        public List<Parameter> parameters() {
            return List.of(g);
        }
    }

    /**
     * y_r = x_r · (1 + tanh(⟨x_r, u⟩)) per row r, u [C] trainable. It keeps tanh(⟨x_r, u⟩) in a
     * workspace of width 1 from the forward to the backward pass:
     * dx_r = dy_r·(1 + t_r) + (1 − t_r²)·⟨dy_r, x_r⟩·u and du = Σ_r (1 − t_r²)·⟨dy_r, x_r⟩·x_r.
     */
    static final class RowGate implements InsertedModule {
        final Parameter u;

        RowGate(String name, int c, Random random) {
            float[] values = new float[c];
            for (int i = 0; i < c; i++) {
                values[i] = (float) (0.3 * random.nextGaussian());
            }
            u = new Parameter(name, new int[] {c}, values);
        }

        @Override
        public int features() {
            return u.size();
        }

        @Override
        public int[] workspaceWidths() {
            return new int[] {1};
        }

        @Override
        public void forward(float[] x, float[] y, float[][] workspace, int rows, KernelBackend kernels) {
            int c = features();
            for (int r = 0; r < rows; r++) {
                double z = 0;
                for (int j = 0; j < c; j++) {
                    z += x[r * c + j] * u.values()[j];
                }
                float t = (float) Math.tanh(z);
                workspace[0][r] = t;
                for (int j = 0; j < c; j++) {
                    y[r * c + j] = x[r * c + j] * (1 + t);
                }
            }
        }

        @Override
        public void backward(float[] x, float[] y, float[][] workspace, float[] dy, float[] dx, int rows,
                KernelBackend kernels) {
            int c = features();
            for (int r = 0; r < rows; r++) {
                float t = workspace[0][r];
                double dyx = 0;
                for (int j = 0; j < c; j++) {
                    dyx += dy[r * c + j] * x[r * c + j];
                }
                float dz = (float) ((1 - t * t) * dyx);
                for (int j = 0; j < c; j++) {
                    dx[r * c + j] += dy[r * c + j] * (1 + t) + dz * u.values()[j];
                    if (u.trainable()) {
                        u.gradient()[j] += dz * x[r * c + j];
                    }
                }
            }
        }

        @Override
        public List<Parameter> parameters() {
            return List.of(u);
        }
    }

    /** Runs {@code first} then {@code second}: what two modules inserted in that order must compute. */
    record Chain(InsertedModule first, InsertedModule second) implements InsertedModule {
        @Override
        public int features() {
            return first.features();
        }

        @Override
        public int[] workspaceWidths() {
            return new int[] {1};
        }

        @Override
        public void forward(float[] x, float[] y, float[][] workspace, int rows, KernelBackend kernels) {
            float[] middle = new float[rows * features()];
            first.forward(x, middle, workspace, rows, kernels);
            second.forward(middle, y, workspace, rows, kernels);
        }

        @Override
        public void backward(float[] x, float[] y, float[][] workspace, float[] dy, float[] dx, int rows,
                KernelBackend kernels) {
            throw new UnsupportedOperationException("forward only");
        }

        @Override
        public List<Parameter> parameters() {
            return List.of();
        }
    }

    /** Modules at every point of both layers, two of them at one point, trainable. */
    private static LlamaModel modelWithModules(long seed) {
        LlamaModel model = LlamaGradientTest.tinyModel(false, seed);
        int c = model.hiddenSize();
        Random random = new Random(seed + 2);
        for (int l = 0; l < model.layerCount(); l++) {
            String p = "layer" + l + ".";
            model.insert(l, InsertionPoint.ATTENTION_OUTPUT, new Tanh(p + "attention_output.g", c, random));
            model.insert(l, InsertionPoint.POST_ATTENTION, new RowGate(p + "post_attention.u", c, random));
            model.insert(l, InsertionPoint.MLP_OUTPUT, new RowGate(p + "mlp_output.u", c, random));
            model.insert(l, InsertionPoint.MLP_OUTPUT, new Tanh(p + "mlp_output.g", c, random));
            model.insert(l, InsertionPoint.LAYER_OUTPUT, new Tanh(p + "layer_output.g", c, random));
        }
        return model;
    }

    @Test
    @DisplayName("every parameter's gradient, the inserted modules' and the base's, matches finite differences")
    void gradientsThroughInsertedModules() {
        LlamaModel model = modelWithModules(5);
        model.parameters().forEach(p -> p.setTrainable(true));
        LlamaEngine engine = new LlamaEngine(model, KERNELS);
        TokenBatch batch = LlamaGradientTest.batch(model.config(), 9);
        float[] dLogits = new float[batch.batchSize() * batch.seqLen() * model.config().vocabSize()];
        LlamaGradientTest.loss(engine, batch, dLogits);
        engine.backward(dLogits);

        assertThat(model.parameters()).extracting(Parameter::name).contains("layer0.attention_output.g",
                "layer1.post_attention.u", "layer1.mlp_output.u", "layer1.mlp_output.g", "layer0.layer_output.g");
        // A smaller step than the base model's test: the modules' tanh saturate, so curvature is high.
        assertThat(LlamaGradientTest.finiteDifferenceFailures(model, () -> LlamaGradientTest.loss(engine, batch, null), 2e-3)).isEmpty();
    }

    @Test
    @DisplayName("modules at one point run in insertion order, each on the previous one's output")
    void insertionOrder() {
        Random random = new Random(1);
        int c = 8;
        Tanh tanh = new Tanh("g", c, random);
        RowGate gate = new RowGate("u", c, random);
        TokenBatch batch = LlamaGradientTest.batch(LlamaGradientTest.tinyModel(false, 3).config(), 4);

        LlamaModel inOrder = LlamaGradientTest.tinyModel(false, 3);
        inOrder.insert(1, InsertionPoint.MLP_OUTPUT, tanh);
        inOrder.insert(1, InsertionPoint.MLP_OUTPUT, gate);
        LlamaModel chained = LlamaGradientTest.tinyModel(false, 3);
        chained.insert(1, InsertionPoint.MLP_OUTPUT, new Chain(tanh, gate));
        LlamaModel reversed = LlamaGradientTest.tinyModel(false, 3);
        reversed.insert(1, InsertionPoint.MLP_OUTPUT, gate);
        reversed.insert(1, InsertionPoint.MLP_OUTPUT, tanh);

        float[] expected = new LlamaEngine(chained, KERNELS).forward(batch).clone();
        assertThat(inOrder.insertedModules(1, InsertionPoint.MLP_OUTPUT)).containsExactly(tanh, gate);
        assertThat(new LlamaEngine(inOrder, KERNELS).forward(batch)).containsExactly(expected);
        assertThat(new LlamaEngine(reversed, KERNELS).forward(batch)).isNotEqualTo(expected);
    }

    @Test
    @DisplayName("generation with the key/value cache runs the inserted modules exactly as the batch forward pass")
    void generationRunsTheSameLayers() {
        LlamaModel model = modelWithModules(21);
        GeneratorTest.assertCacheMatchesFullForward(model);
        LlamaModel plain = LlamaGradientTest.tinyModel(false, 21);
        assertThat(new Generator(plain, KERNELS, 32).append(new int[] {1, 4, 7, 2}))
                .as("the modules change what is generated").isNotEqualTo(new Generator(model, KERNELS, 32)
                        .append(new int[] {1, 4, 7, 2}));
    }

    @Test
    @DisplayName("a second engine's forward pass between a forward and a backward pass changes no gradient")
    void enginesKeepTheirOwnActivations() {
        TokenBatch batch = LlamaGradientTest.batch(LlamaGradientTest.tinyModel(false, 5).config(), 9);
        TokenBatch other = LlamaGradientTest.batch(LlamaGradientTest.tinyModel(false, 5).config(), 10);
        List<float[]> gradients = new ArrayList<>();
        for (boolean interleaved : new boolean[] {false, true}) {
            LlamaModel model = modelWithModules(5);
            model.parameters().forEach(p -> p.setTrainable(true));
            LlamaEngine engine = new LlamaEngine(model, KERNELS);
            float[] dLogits = new float[batch.batchSize() * batch.seqLen() * model.config().vocabSize()];
            LlamaGradientTest.loss(engine, batch, dLogits);
            if (interleaved) {
                new LlamaEngine(model, KERNELS).forward(other);
                new Generator(model, KERNELS, 16).append(new int[] {3, 1, 4});
            }
            engine.backward(dLogits);
            model.parameters().forEach(p -> gradients.add(p.gradient().clone()));
        }
        int half = gradients.size() / 2;
        for (int i = 0; i < half; i++) {
            assertThat(gradients.get(half + i)).containsExactly(gradients.get(i));
        }
    }

    @Test
    @DisplayName("a module inserted after the forward pass, a wrong width and a missing layer are refused")
    void refusals() {
        LlamaModel model = LlamaGradientTest.tinyModel(false, 5);
        model.parameters().forEach(p -> p.setTrainable(true));
        LlamaEngine engine = new LlamaEngine(model, KERNELS);
        TokenBatch batch = LlamaGradientTest.batch(model.config(), 9);
        float[] dLogits = new float[batch.batchSize() * batch.seqLen() * model.config().vocabSize()];
        model.insert(0, InsertionPoint.POST_ATTENTION, new Tanh("g", 8, new Random(1)));
        LlamaGradientTest.loss(engine, batch, dLogits);
        model.insert(0, InsertionPoint.POST_ATTENTION, new Tanh("h", 8, new Random(2)));
        assertThatThrownBy(() -> engine.backward(dLogits)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("post_attention of layer 0 changed after the forward pass");

        assertThatThrownBy(() -> model.insert(0, InsertionPoint.MLP_OUTPUT, new Tanh("w", 6, new Random(1))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("a module of width 6 cannot be inserted at mlp_output of layer 0: the model's hidden size is 8");
        assertThatThrownBy(() -> model.insert(2, InsertionPoint.MLP_OUTPUT, new Tanh("w", 8, new Random(1))))
                .isInstanceOf(IndexOutOfBoundsException.class).hasMessage("the model has layers 0 to 1; there is no layer 2");
    }
}

package io.gradus.jobs.faulty;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.Linear;
import io.gradus.api.model.Model;
import io.gradus.api.model.Parameter;
import io.gradus.api.technique.Tuner;
import io.gradus.api.technique.Tuning;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.concurrent.CountDownLatch;

/**
 * A tuner with a bug, as a third party may ship one: {@code throws} fails in apply and load,
 * {@code hangs} never returns from them, {@code crashes} applies fine but its module fails when the
 * model runs.
 *
 * @param mode {@code throws}, {@code hangs} or {@code crashes}
 */
public record FaultyTuner(String mode) implements Tuner<FaultyTuner.Config> {

    /** No settings. */
    public record Config() {}

    @Override
    public Class<Config> configType() {
        return Config.class;
    }

    @Override
    public String description() {
        return "A tuner that " + mode;
    }

    @Override
    public Tuning apply(Model model, Config config) {
        return fail(model, "apply");
    }

    /** Loading saved weights fails the same way. */
    @Override
    public Tuning load(Model model, Config config, SequencedMap<String, Parameter> tensors) {
        return fail(model, "load");
    }

    private Tuning fail(Model model, String method) {
        if (mode.equals("crashes")) {
            Map.Entry<String, Linear> first = model.linears().firstEntry();
            model.replaceLinear(first.getKey(), new CrashingLinear(first.getValue()));
            return List::of;
        }
        if (mode.equals("hangs")) {
            // Ignores interrupts, as careless code does: only the apply timeout gets the job out.
            CountDownLatch never = new CountDownLatch(1);
            while (true) {
                try {
                    never.await();
                } catch (InterruptedException e) {
                    // keeps waiting
                }
            }
        }
        throw new IllegalStateException("the faulty tuner's " + method + " broke");
    }

    /** A module whose forward pass fails. */
    private record CrashingLinear(Linear wrapped) implements Linear {
        @Override
        public int inFeatures() {
            return wrapped.inFeatures();
        }

        @Override
        public int outFeatures() {
            return wrapped.outFeatures();
        }

        @Override
        public void forward(float[] x, float[] y, int rows, KernelBackend kernels) {
            throw new IllegalStateException("the faulty tuner's module broke");
        }

        @Override
        public void backward(float[] x, float[] dy, float[] dx, int rows, KernelBackend kernels) {
            throw new IllegalStateException("the faulty tuner's module broke");
        }

        @Override
        public List<Parameter> parameters() {
            return wrapped.parameters();
        }
    }
}

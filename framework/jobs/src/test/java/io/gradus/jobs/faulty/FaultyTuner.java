package io.gradus.jobs.faulty;

import io.gradus.api.model.Model;
import io.gradus.api.model.Parameter;
import io.gradus.api.technique.Tuner;
import io.gradus.api.technique.Tuning;
import java.util.SequencedMap;
import java.util.concurrent.CountDownLatch;

/**
 * A tuner with a bug, as a third party may ship one: {@code throws} fails in apply and load,
 * {@code hangs} never returns from them.
 *
 * @param mode {@code throws} or {@code hangs}
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
        return fail("apply");
    }

    /** Loading saved weights fails the same way. */
    @Override
    public Tuning load(Model model, Config config, SequencedMap<String, Parameter> tensors) {
        return fail("load");
    }

    private Tuning fail(String method) {
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
}

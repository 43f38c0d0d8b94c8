package io.gradus.jobs.faulty;

import io.gradus.api.model.Model;
import io.gradus.api.technique.Tuner;
import io.gradus.api.technique.Tuning;
import java.util.concurrent.CountDownLatch;

/**
 * A tuner with a bug, as a third party may ship one: {@code throws} fails in apply, {@code hangs}
 * never returns from it.
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
        throw new IllegalStateException("the faulty tuner's apply broke");
    }
}

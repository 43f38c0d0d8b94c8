package io.gradus.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Alternation: the sides of a comparison step in turn")
class AlternationTest {

    /** A side whose steps take the given seconds in turn (cycling), recording every turn in a shared log. */
    private record Scripted(String name, double[] seconds, List<String> log) implements Alternation.Side {
        @Override
        public long pid() {
            return ProcessHandle.current().pid();
        }

        @Override
        public double step() {
            long turns = log.stream().filter(name::equals).count();
            log.add(name);
            return seconds[(int) (turns % seconds.length)];
        }
    }

    @Test
    @DisplayName("A B C A B C: warm-up rounds untimed, then one step of each side per round")
    void turns() throws Exception {
        List<String> log = new ArrayList<>();
        List<Alternation.Timings> timed = Alternation.run(List.of(new Scripted("A", new double[] {1, 2, 3}, log),
                new Scripted("B", new double[] {2}, log), new Scripted("C", new double[] {4}, log)), 2, 0, 4);
        assertThat(log).containsExactly("A", "B", "C", "A", "B", "C", "A", "B", "C", "A", "B", "C", "A", "B", "C", "A", "B",
                "C");
        // A's warm-up took its steps of 1 and 2 s; the rounds see 3, 1, 2, 3
        assertThat(timed.getFirst().seconds()).containsExactly(3, 1, 2, 3);
        assertThat(timed.get(1).seconds()).containsExactly(2, 2, 2, 2);
        assertThat(timed).extracting(Alternation.Timings::setAside).containsOnlyNulls();
        // B is the faster alternative by median; per round B's seconds over A's
        assertThat(Alternation.fastest(timed.subList(1, 3)).name()).isEqualTo("B");
        assertThat(Alternation.ratios(timed.getFirst(), timed.get(1))).containsExactly(2 / 3.0, 2, 1, 2 / 3.0);
    }

    @Test
    @DisplayName("an alternative more than three times slower than the fastest leaves after the third warm-up round")
    void setAside() throws Exception {
        List<String> log = new ArrayList<>();
        List<Alternation.Timings> timed = Alternation.run(List.of(new Scripted("Gradus", new double[] {1}, log),
                new Scripted("sleep", new double[] {1}, log), new Scripted("spin", new double[] {3.5}, log),
                new Scripted("close", new double[] {2.9}, log)), 5, 0, 2);
        assertThat(log.stream().filter("spin"::equals)).hasSize(3);
        assertThat(log.stream().filter("close"::equals)).hasSize(7);
        assertThat(timed.get(2).seconds()).isEmpty();
        assertThat(timed.get(2).setAside()).isEqualTo(
                "set aside after 3 warm-up steps: median 3.5000 s, more than 3 times sleep's 1.0000 s");
        assertThat(timed.get(3).setAside()).isNull();
        assertThat(Alternation.fastest(timed.subList(1, 4)).name()).isEqualTo("sleep");
    }

    @Test
    @DisplayName("warm-up goes on until its minimum time has passed, however many rounds that takes")
    void warmupTime() throws Exception {
        List<String> log = new ArrayList<>();
        Alternation.Side slow = new Alternation.Side() {
            @Override
            public String name() {
                return "slow";
            }

            @Override
            public long pid() {
                return ProcessHandle.current().pid();
            }

            @Override
            public double step() throws InterruptedException {
                log.add("slow");
                Thread.sleep(20);
                return 0.02;
            }
        };
        long start = System.nanoTime();
        Alternation.run(List.of(slow), 1, 0.2, 1);
        assertThat((System.nanoTime() - start) / 1e9).isGreaterThanOrEqualTo(0.2);
        // more warm-up steps than the one round asked for (each step takes at least 20 ms), then one timed
        assertThat(log.size() - 1).isGreaterThan(1);
    }
}

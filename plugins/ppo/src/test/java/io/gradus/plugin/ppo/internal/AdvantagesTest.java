package io.gradus.plugin.ppo.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * PPO's arithmetic (the KL estimators, the rewards per token, GAE, whitening, the clipped losses and
 * their gradients, the adaptive KL controller) against an independent PyTorch rendering of TRL's
 * PPOTrainer ({@code src/test/python/ppo_reference.py}, {@code math.json}): random rollouts of responses of
 * different lengths, with k1 and k3, γ = 1 and 0.9, with and without the missing-EOS penalty.
 */
class AdvantagesTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final double TOLERANCE = 1e-12;

    @Test
    @DisplayName("KL per token, rewards, GAE, returns, whitened advantages, clipped losses and their gradients match PyTorch")
    void matchesPyTorch() throws Exception {
        JsonNode golden = JSON.readTree(Path.of("src/test/resources/golden/math.json").toFile());
        for (JsonNode c : golden.get("cases")) {
            JsonNode config = c.get("config");
            String estimator = config.get("kl_estimator").asText();
            double beta = config.get("kl_coef").asDouble();
            int rows = c.get("logprobs").size();
            List<double[]> advantages = new ArrayList<>();
            List<double[]> returns = new ArrayList<>();
            double klPerSequence = 0;
            for (int b = 0; b < rows; b++) {
                double[] logProbs = doubles(c.at("/logprobs/" + b));
                double[] refLogProbs = doubles(c.at("/ref_logprobs/" + b));
                double[] values = doubles(c.at("/values/" + b));
                double score = c.at("/scores/" + b).asDouble();
                if (!c.at("/eos/" + b).asBoolean() && !config.get("missing_eos_penalty").isNull()) {
                    score -= config.get("missing_eos_penalty").asDouble();
                }
                double[] kl = new double[logProbs.length];
                for (int t = 0; t < kl.length; t++) {
                    kl[t] = Advantages.kl(estimator, logProbs[t], refLogProbs[t]);
                    klPerSequence += kl[t] / rows;
                }
                double[] rewards = Advantages.rewards(kl, beta, score);
                assertClose(rewards, c.at("/rollout/rewards/" + b), "rewards of row " + b + " (" + estimator + ")");
                double[] a = Advantages.gae(rewards, values, config.get("gamma").asDouble(), config.get("lam").asDouble());
                returns.add(Advantages.returns(a, values));
                advantages.add(a);
            }
            assertThat(klPerSequence).isCloseTo(c.at("/rollout/metrics/objective~1kl").asDouble(), within(TOLERANCE));
            Advantages.whiten(advantages);
            for (int b = 0; b < rows; b++) {
                assertClose(returns.get(b), c.at("/rollout/returns/" + b), "returns of row " + b);
                assertClose(advantages.get(b), c.at("/rollout/advantages/" + b), "whitened advantages of row " + b);
            }

            ClippedLosses.Policy policy = ClippedLosses.policy(doubles(c.get("new_logprobs")), flat(c.get("logprobs")),
                    flat(advantages), config.get("cliprange").asDouble());
            ClippedLosses.Value value = ClippedLosses.value(doubles(c.get("new_values")), flat(c.get("values")),
                    flat(returns), config.get("cliprange_value").asDouble());
            JsonNode losses = c.get("losses");
            assertThat(policy.loss()).isCloseTo(losses.get("loss/policy_avg").asDouble(), within(TOLERANCE));
            assertThat(value.loss()).isCloseTo(losses.get("loss/value_avg").asDouble(), within(TOLERANCE));
            assertThat(policy.clipFraction()).as("both sides clip somewhere").isBetween(0.01, 0.99)
                    .isCloseTo(losses.get("policy/clipfrac_avg").asDouble(), within(TOLERANCE));
            assertThat(value.clipFraction()).isBetween(0.01, 0.99)
                    .isCloseTo(losses.get("val/clipfrac_avg").asDouble(), within(TOLERANCE));
            assertThat(policy.approxKl()).isCloseTo(losses.get("policy/approxkl_avg").asDouble(), within(TOLERANCE));
            assertThat(policy.meanRatio()).isCloseTo(losses.get("val/ratio").asDouble(), within(TOLERANCE));
            assertClose(policy.gradient(), c.get("policy_gradient"), "d policy loss / d log π");
            assertClose(value.gradient(), c.get("value_gradient"), "d value loss / d V");

            assertThat(AdaptiveKl.next(beta, klPerSequence, c.get("kl_target").asDouble(), c.get("kl_horizon").asInt(), rows))
                    .as("the adaptive controller's next β").isCloseTo(c.get("next_kl_coef").asDouble(), within(TOLERANCE));
        }
    }

    @Test
    @DisplayName("k3 is never negative and is zero where the policy agrees with the reference; k1 is the log-ratio")
    void estimators() {
        assertThat(Advantages.kl("k1", -1.0, -1.5)).isEqualTo(0.5);
        assertThat(Advantages.kl("k1", -1.5, -1.0)).isEqualTo(-0.5);
        assertThat(Advantages.kl("k3", -1.2, -1.2)).isZero();
        assertThat(Advantages.kl("k3", -1.5, -1.0)).isPositive();
        assertThat(Advantages.kl("k3", -1.0, -1.5)).isPositive();
    }

    @Test
    @DisplayName("whitening a single token leaves it at zero instead of dividing by n − 1 = 0")
    void whitensOneToken() {
        List<double[]> one = List.of(new double[] {3.0});
        Advantages.whiten(one);
        assertThat(one.getFirst()[0]).isZero();
    }

    private static void assertClose(double[] actual, JsonNode expected, String what) {
        assertThat(actual).as(what + ": length").hasSize(expected.size());
        double max = 0;
        for (int i = 0; i < actual.length; i++) {
            max = Math.max(max, Math.abs(actual[i] - expected.get(i).asDouble()));
        }
        assertThat(max).as("max |Δ| of " + what).isLessThan(TOLERANCE);
    }

    private static double[] doubles(JsonNode array) {
        double[] values = new double[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = array.get(i).asDouble();
        }
        return values;
    }

    private static double[] flat(JsonNode rows) {
        List<double[]> all = new ArrayList<>();
        rows.forEach(row -> all.add(doubles(row)));
        return flat(all);
    }

    private static double[] flat(List<double[]> rows) {
        return rows.stream().flatMapToDouble(java.util.Arrays::stream).toArray();
    }
}

package io.gradus.plugin.full;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.model.Model;
import io.gradus.api.model.Parameter;
import io.gradus.api.technique.TechniqueException;
import io.gradus.api.technique.Tuning;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class FullTechniqueTest {

    private static Model tinyModel() {
        List<Parameter> parameters = List.of(
                new Parameter("model.embed_tokens.weight", new int[] {10, 4}, new float[40]),
                new Parameter("model.layers.0.self_attn.q_proj.weight", new int[] {4, 4}, new float[16]),
                new Parameter("lm_head.weight", new int[] {10, 4}, new float[40]));
        return Model.of(parameters);
    }

    @Test
    @DisplayName("by default every parameter trains and gets a zeroed gradient")
    void everythingTrains() {
        Model model = tinyModel();
        Tuning tuning = new FullTechnique().apply(model, FullConfig.defaults());

        assertThat(tuning.trainableParameters()).hasSize(3);
        assertThat(tuning.trainableCount()).isEqualTo(model.parameterCount()).isEqualTo(96);
        for (Parameter p : model.parameters()) {
            assertThat(p.trainable()).isTrue();
            assertThat(p.gradient()).hasSize(p.size()).containsOnly(0f);
        }
    }

    @Test
    @DisplayName("frozen patterns keep matching parameters frozen, without gradient memory")
    void freezePatterns() {
        Model model = tinyModel();
        model.parameter("lm_head.weight").setTrainable(true);
        Tuning tuning = new FullTechnique().apply(model, new FullConfig(List.of("model\\.embed_tokens\\..*", "lm_head\\..*")));

        assertThat(tuning.trainableParameters()).extracting(Parameter::name)
                .containsExactly("model.layers.0.self_attn.q_proj.weight");
        assertThat(tuning.trainableCount()).isEqualTo(16);
        assertThat(model.parameter("lm_head.weight").trainable()).isFalse();
        assertThatThrownBy(() -> model.parameter("lm_head.weight").gradient()).isInstanceOf(IllegalStateException.class);
    }

    @Test
    @DisplayName("a freeze pattern that matches nothing is an error naming the pattern")
    void unmatchedPatternIsAnError() {
        assertThatThrownBy(() -> new FullTechnique().apply(tinyModel(), new FullConfig(List.of("encoder\\..*"))))
                .isInstanceOf(TechniqueException.class)
                .hasMessageContaining("encoder\\..*");
    }

    @Test
    @DisplayName("an invalid regular expression is rejected when the configuration is made")
    void invalidPattern() {
        assertThatThrownBy(() -> new FullConfig(List.of("model.(")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("freeze")
                .hasMessageContaining("model.(");
    }
}

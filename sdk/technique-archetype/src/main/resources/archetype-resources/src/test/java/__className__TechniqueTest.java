#if( $family == "tuner" )
package ${package};

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.model.Parameter;
import io.gradus.api.technique.Tuning;
import io.gradus.testkit.GradientCheck;
import io.gradus.testkit.TinyLlama;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ${className}TechniqueTest {

    private final ${className}Technique technique = new ${className}Technique();

    @Test
    @DisplayName("only the matching parameters train, and their gradients match finite differences")
    void trainsWhatMatches() {
        TinyLlama tiny = TinyLlama.random(1);
        Tuning tuning = technique.apply(tiny.model(), ${className}Config.defaults());

        assertThat(tuning.trainableParameters()).isNotEmpty()
                .allSatisfy(p -> assertThat(p.name()).matches("model\\.layers\\.\\d+\\.mlp\\..*"));
        assertThat(tiny.model().parameters()).filteredOn(Parameter::trainable)
                .containsExactlyElementsOf(tuning.trainableParameters());
        assertThat(GradientCheck.DEFAULT.nextTokenLoss(tiny, tiny.batch(2, 6, 3), tuning.trainableParameters())).isEmpty();
    }

    @Test
    @DisplayName("a pattern that is no regular expression is refused, naming the field")
    void refusesBadPattern() {
        assertThatThrownBy(() -> new ${className}Config(List.of("(")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("trainable:");
    }
}
#else
package ${package};

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.data.ChatMessage;
import io.gradus.api.data.TextTokenizer;
import io.gradus.api.model.Parameter;
import io.gradus.testkit.GradientCheck;
import io.gradus.testkit.TinyLlama;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ${className}TechniqueTest {

    private final ${className}Technique technique = new ${className}Technique();

    @Test
    @DisplayName("the gradient it back-propagates matches finite differences of the loss it reports")
    void gradientMatchesFiniteDifferences() {
        TinyLlama tiny = TinyLlama.random(1);
        tiny.model().parameters().forEach(p -> p.setTrainable(true));
        List<Parameter> checked = tiny.model().parameters();

        assertThat(GradientCheck.DEFAULT.objective(technique, ${className}Config.defaults(), tiny.batch(2, 6, 3), tiny, checked))
                .isEmpty();
    }

    @Test
    @DisplayName("a record becomes its text's tokens; one without the field is refused, naming it")
    void encodes() {
        TextTokenizer bytes = new TextTokenizer() {
            public int[] encode(String text) {
                return text.chars().toArray();
            }

            public String decode(int[] ids) {
                return new String(ids, 0, ids.length);
            }

            public int bosId() {
                return -1;
            }

            public int eosId() {
                return -1;
            }

            public String renderChat(List<ChatMessage> messages, boolean addGenerationPrompt) {
                throw new UnsupportedOperationException();
            }
        };

        assertThat(technique.encode(${className}Config.defaults(), Map.of("text", "ab"), bytes).ids()).containsExactly('a', 'b');
        assertThatThrownBy(() -> technique.encode(${className}Config.defaults(), Map.of("prompt", "ab"), bytes))
                .hasMessageContaining("\"text\"");
    }
}
#end

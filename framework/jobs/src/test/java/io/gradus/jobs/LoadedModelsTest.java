package io.gradus.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("The cache of models loaded for generation")
class LoadedModelsTest {

    private static LoadedModels.Key key(String source, String fingerprint) {
        return new LoadedModels.Key(source, fingerprint);
    }

    @Test
    @DisplayName("hands a kept model to one taker at a time: taken, it is gone until it is kept again")
    void oneTakerAtATime() {
        LoadedModels<Object> models = new LoadedModels<>(2, 100);
        Object model = new Object();
        models.keep(key("base a", "1"), model, 10);

        assertThat(models.take(key("base a", "1"))).containsSame(model);
        assertThat(models.take(key("base a", "1"))).as("in use by the first taker").isEmpty();
        models.keep(key("base a", "1"), model, 10);
        assertThat(models.take(key("base a", "1"))).containsSame(model);
    }

    @Test
    @DisplayName("keeps at most its count of models, dropping the least recently used first")
    void boundedByCount() {
        LoadedModels<String> models = new LoadedModels<>(2, 1000);
        models.keep(key("a", "1"), "a", 10);
        models.keep(key("b", "1"), "b", 10);
        models.keep(key("c", "1"), "c", 10);

        assertThat(models.take(key("a", "1"))).as("the oldest went").isEmpty();
        assertThat(models.take(key("b", "1"))).contains("b");
        assertThat(models.take(key("c", "1"))).contains("c");
    }

    @Test
    @DisplayName("keeps at most its bytes; a model larger than all of them is not kept at all")
    void boundedByBytes() {
        LoadedModels<String> models = new LoadedModels<>(10, 100);
        models.keep(key("a", "1"), "a", 60);
        models.keep(key("b", "1"), "b", 50);
        models.keep(key("huge", "1"), "huge", 101);

        assertThat(models.take(key("a", "1"))).as("60 + 50 > 100: the older went").isEmpty();
        assertThat(models.take(key("b", "1"))).contains("b");
        assertThat(models.take(key("huge", "1"))).isEmpty();
        assertThat(new LoadedModels<String>(0, 100)).satisfies(none -> {
            none.keep(key("a", "1"), "a", 1);
            assertThat(none.take(key("a", "1"))).isEmpty();
        });
        assertThatThrownBy(() -> new LoadedModels<String>(-1, 0)).hasMessageContaining("must not be negative");
    }

    @Test
    @DisplayName("a source asked for under a new fingerprint drops what was kept under the old one")
    void staleFingerprintsAreDropped() {
        LoadedModels<String> models = new LoadedModels<>(3, 1000);
        models.keep(key("job 3, checkpoint", "step 10"), "old", 10);
        models.keep(key("base", "1"), "base", 10);

        assertThat(models.take(key("job 3, checkpoint", "step 20"))).isEmpty();
        assertThat(models.take(key("job 3, checkpoint", "step 10"))).as("dropped as stale").isEmpty();
        assertThat(models.take(key("base", "1"))).as("another source stays").contains("base");
    }

    @Test
    @DisplayName("a fingerprint changes when a file of the folders is rewritten, added or removed, and names a missing folder")
    void fingerprints(@TempDir Path dir) throws IOException {
        Path model = Files.createDirectories(dir.resolve("model"));
        Path checkpoint = Files.createDirectories(dir.resolve("checkpoint"));
        Files.writeString(model.resolve("config.json"), "{}");
        Files.writeString(checkpoint.resolve("state.json"), "{\"step\": 10}");
        Files.createDirectories(checkpoint.resolve("nested"));
        String first = LoadedModels.fingerprint(model, checkpoint);

        assertThat(LoadedModels.fingerprint(model, checkpoint)).isEqualTo(first);
        Files.writeString(checkpoint.resolve("state.json"), "{\"step\": 20}");
        Files.setLastModifiedTime(checkpoint.resolve("state.json"), FileTime.from(Instant.now().plusSeconds(5)));
        String rewritten = LoadedModels.fingerprint(model, checkpoint);
        assertThat(rewritten).isNotEqualTo(first);
        Files.writeString(checkpoint.resolve("weights.safetensors"), "x");
        assertThat(LoadedModels.fingerprint(model, checkpoint)).isNotEqualTo(rewritten);
        assertThatThrownBy(() -> LoadedModels.fingerprint(dir.resolve("gone")))
                .hasMessage(dir.resolve("gone") + ": the folder is not there");
    }
}

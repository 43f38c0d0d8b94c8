package io.gradus.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.job.JobException;
import io.gradus.api.job.JobSpec;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Job files")
class JobFilesTest {

    private static final String GOOD = """
            name: run
            tuner: {name: lora, config: {r: 8}}
            objective: {name: sft}
            data: {train: train.jsonl}
            hyper: {steps: 10, learningRate: 0.001}
            output: out
            """;

    private static AbstractThrowableAssert<?, ? extends Throwable> refused(String text) {
        return assertThatThrownBy(() -> JobFiles.read(text, "job.yaml"))
                .isInstanceOf(JobException.class)
                .hasMessageStartingWith("job.yaml: ")
                .satisfies(e -> assertThat(e.getMessage()).as("no Java or Jackson internals")
                        .doesNotContain("com.fasterxml", "[Source", "not marked as ignorable", "io.gradus", "class ", "`"));
    }

    @Test
    @DisplayName("binds YAML and JSON alike")
    void binds() {
        JobSpec yaml = JobFiles.read(GOOD, "job.yaml");
        JobSpec json = JobFiles.read("""
                {"name": "run", "tuner": {"name": "lora", "config": {"r": 8}}, "objective": {"name": "sft"},
                 "data": {"train": "train.jsonl"}, "hyper": {"steps": 10, "learningRate": 0.001}, "output": "out"}
                """, "job.json");
        assertThat(json).isEqualTo(yaml);
        assertThat(yaml.onUpdate()).isEqualTo(JobSpec.KEEP);
    }

    @Test
    @DisplayName("a misspelt field names the line, where it is, the closest valid name and all valid names")
    void misspeltField() {
        refused(GOOD.replace("learningRate", "lerningRate"))
                .hasMessageContaining("line 5")
                .hasMessageContaining("unknown field 'lerningRate' in 'hyper'; did you mean 'learningRate'?")
                .hasMessageContaining("Valid fields: batchSize, beta1");
        refused(GOOD.replace("output: out", "outptu: out"))
                .hasMessageContaining("line 6").hasMessageContaining("did you mean 'output'?");
    }

    @Test
    @DisplayName("a field of the wrong type says which field and which type, once")
    void wrongType() {
        refused(GOOD.replace("steps: 10", "steps: ten"))
                .hasMessageContaining("line 5").hasMessageContaining("field 'hyper.steps' must be a whole number, got \"ten\"");
        refused(GOOD.replace("steps: 10", "steps: 10.5"))
                .hasMessageContaining("line 5").hasMessageContaining("field 'hyper.steps' must be a whole number, got 10.5");
        refused(GOOD.replace("data: {train: train.jsonl}", "data: [train.jsonl]"))
                .hasMessageContaining("field 'data' must be an object");
    }

    @Test
    @DisplayName("values a record refuses come with the record's own words; syntax errors with the line")
    void invalidValuesAndSyntax() {
        refused(GOOD.replace("hyper: {", "hyper: {schedule: exponential, "))
                .hasMessageContaining("schedule must be one of cosine, linear, constant; was 'exponential'");
        refused(GOOD.replace("objective: {name: sft}", "objective: {name: sft"))
                .hasMessageContaining("not valid JSON or YAML");
        refused("").hasMessageContaining("the job file is empty");
        refused(GOOD.replace("tuner: {name: lora, config: {r: 8}}\n", ""))
                .hasMessageContaining("tuner is required");
    }

    @Test
    @DisplayName("a technique's config binds to its record; a typo there is named with its config")
    void techniqueConfig() {
        record Config(Integer r, Double alpha) {}
        assertThat(JobFiles.bind(java.util.Map.of("r", 4), Config.class, "tuner 'x' config").r()).isEqualTo(4);
        assertThatThrownBy(() -> JobFiles.bind(java.util.Map.of("rank", 4), Config.class, "tuner 'x' config"))
                .hasMessageStartingWith("tuner 'x' config: unknown field 'rank'")
                .hasMessageContaining("Valid fields: alpha, r");
        assertThatThrownBy(() -> JobFiles.bind(java.util.Map.of("r", 8.5), Config.class, "tuner 'x' config"))
                .hasMessage("tuner 'x' config: field 'r' must be a whole number, got 8.5");
    }

    @Test
    @DisplayName("a command-line option sets a field over the file (gradus train --adapter); a file that is no object is refused")
    void fieldOverTheFile() {
        String withAdapter = JobFiles.withField("""
                objective: {name: dpo}
                data: {train: pairs.jsonl}
                adapter: old
                """, "job.yaml", "adapter", "/runs/sft/adapter");
        JobSpec job = JobFiles.read(withAdapter, "job.yaml");
        assertThat(job.adapter()).isEqualTo("/runs/sft/adapter");
        assertThat(job.tuner()).isNull();
        assertThat(JobFiles.read(JobFiles.withField(GOOD, "job.yaml", "adapter", "/a"), "job.yaml"))
                .isEqualTo(JobFiles.read(GOOD, "job.yaml").withPaths(null, "/a", new JobSpec.DataSpec("train.jsonl", null), "out"));
        assertThatThrownBy(() -> JobFiles.withField("- a list", "job.yaml", "adapter", "/a"))
                .hasMessage("job.yaml: a job file is an object of settings (name, model, tuner, objective, data, ...)");
    }
}

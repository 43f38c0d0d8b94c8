package io.gradus.api.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class JobSpecBindingTest {

    private final ObjectMapper json = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    @Test
    @DisplayName("a job file binds to JobSpec, with defaults for what it leaves out")
    void bindsWithDefaults() throws Exception {
        JobSpec job = json.readValue("""
                {
                  "name": "lora-sft",
                  "tuner": {"name": "lora", "version": "[1.0,2.0)", "config": {"r": 8, "targets": ["q_proj", "v_proj"]}},
                  "objective": {"name": "sft"},
                  "data": {"train": "train.jsonl"},
                  "hyper": {"steps": 50, "learningRate": 1e-3},
                  "output": "out/lora"
                }
                """, JobSpec.class);

        assertThat(job.tuner().config()).containsEntry("r", 8);
        assertThat(job.objective().config()).isEmpty();
        assertThat(job.objective().version()).isNull();
        assertThat(job.data().eval()).isNull();
        assertThat(job.hyper().steps()).isEqualTo(50);
        assertThat(job.hyper().learningRate()).isEqualTo(1e-3);
        assertThat(job.hyper().batchSize()).isEqualTo(8);
        assertThat(job.hyper().schedule()).isEqualTo("cosine");
        assertThat(job.seed()).isEqualTo(42L);
        assertThat(job.model()).as("null means the built-in default model").isNull();
    }

    @Test
    @DisplayName("a misspelt field is an error that names it")
    void unknownFieldIsAnError() {
        assertThatThrownBy(() -> json.readValue("""
                {"tuner": {"name": "full"}, "objective": {"name": "pretrain"}, "data": {"train": "t.jsonl"},
                 "hyper": {"learning_rate": 0.1}}
                """, JobSpec.class))
                .isInstanceOf(UnrecognizedPropertyException.class)
                .hasMessageContaining("learning_rate");
    }

    @Test
    @DisplayName("invalid values are rejected with the field and the allowed values")
    void invalidValues() {
        assertThatThrownBy(() -> json.readValue("""
                {"tuner": {"name": "full"}, "objective": {"name": "pretrain"}, "data": {"train": "t.jsonl"},
                 "hyper": {"schedule": "exponential"}}
                """, JobSpec.class))
                .isInstanceOf(ValueInstantiationException.class)
                .hasMessageContaining("schedule must be one of cosine, linear, constant");
        assertThatThrownBy(() -> json.readValue("""
                {"tuner": {"name": "full"}, "objective": {"name": "pretrain"}, "data": {"train": "t.jsonl"},
                 "hyper": {"beta2": 1.0}}
                """, JobSpec.class))
                .hasMessageContaining("beta2 must be in [0, 1)");
        assertThatThrownBy(() -> json.readValue("""
                {"objective": {"name": "pretrain"}, "data": {"train": "t.jsonl"}}
                """, JobSpec.class))
                .hasMessageContaining("tuner is required");
    }

    @Test
    @DisplayName("a job may start from a saved adapter instead of naming a tuner; the 1.1 constructor starts fresh")
    void adapterInsteadOfTuner() throws Exception {
        JobSpec job = json.readValue("""
                {"adapter": "runs/sft/adapter", "objective": {"name": "dpo"}, "data": {"train": "pairs.jsonl"}}
                """, JobSpec.class);
        assertThat(job.adapter()).isEqualTo("runs/sft/adapter");
        assertThat(job.tuner()).isNull();
        assertThat(job.withPaths("/m", new JobSpec.DataSpec("/t", null), "/o").adapter()).isEqualTo("runs/sft/adapter");
        assertThat(job.withTuner(new TechniqueRef("lora", null, null)).adapter()).isEqualTo("runs/sft/adapter");
        JobSpec fresh = new JobSpec("j", null, new TechniqueRef("full", null, null), new TechniqueRef("pretrain", null, null),
                new JobSpec.DataSpec("t.jsonl", null), null, null, null, JobSpec.KEEP);
        assertThat(fresh.adapter()).isNull();
    }
}

package io.gradus.plugin.ppo.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.data.ChatMessage;
import io.gradus.api.data.TextTokenizer;
import io.gradus.api.model.Parameter;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.train.TrainingContext;
import io.gradus.kernels.cpu.CpuKernelBackend;
import io.gradus.plugin.lora.LoraConfig;
import io.gradus.plugin.lora.internal.LoraTechnique;
import io.gradus.plugin.ppo.PpoConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The models of {@code ppo_reference.py}'s rollout: a tiny Llama with LoRA on q_proj and v_proj (the
 * policy; its base with the adapter off is the reference), and a LlamaForSequenceClassification (the
 * reward model), as a PPO session in a job sees them.
 */
final class GoldenModels {

    static final Path GOLDEN = Path.of("src/test/resources/golden");
    static final CpuKernelBackend KERNELS = new CpuKernelBackend();
    static final ObjectMapper JSON = new ObjectMapper();
    static final int EOS = 2;

    final JsonNode golden;
    final LlamaModel model;
    final LoraTechnique.LoraTuning tuning;
    final LlamaEngine engine;
    final LlamaEngine reward;
    final TrainingContext context;

    /** The policy with the rollout's adapter ({@code adapter0}), a context of {@code gradAccumulation}. */
    GoldenModels(long seed, int gradAccumulation) throws Exception {
        golden = JSON.readTree(GOLDEN.resolve("rollout.json").toFile());
        model = LlamaModel.load(GOLDEN.resolve("policy"));
        tuning = new LoraTechnique().apply(model, new LoraConfig(4, 8.0, 0.0, List.of("q_proj", "v_proj"), false, null), seed);
        setAdapter("adapter0");
        engine = new LlamaEngine(model, KERNELS, List.of(tuning));
        reward = new LlamaEngine(LlamaModel.load(GOLDEN.resolve("reward")), KERNELS);
        context = new TrainingContext(seed, engine, tuning.trainableParameters(), path -> {
            if (!path.equals("reward")) {
                throw new IllegalArgumentException("no model " + path);
            }
            return reward;
        }, gradAccumulation, new EosOnly());
    }

    /** The reference's rollout configuration, with the reward model named "reward". */
    PpoConfig config() {
        JsonNode c = golden.get("config");
        return new PpoConfig("reward", null, c.get("temperature").asDouble(), c.get("missing_eos_penalty").asDouble(),
                c.get("kl_coef").asDouble(), c.get("kl_estimator").asText(), null, null, c.get("gamma").asDouble(),
                c.get("lam").asDouble(), 1, 1, c.get("cliprange").asDouble(), c.get("cliprange_value").asDouble(),
                c.get("vf_coef").asDouble(), "base", 2);
    }

    /** Copies the LoRA factors of {@code name} (adapter0, adapter1) into the policy. */
    void setAdapter(String name) {
        for (Parameter p : tuning.trainableParameters()) {
            copy(golden.get(name).get(p.name()), p.values());
        }
    }

    static void copy(JsonNode values, float[] into) {
        if (values == null || values.size() != into.length) {
            throw new IllegalArgumentException("the golden file has no values of this shape");
        }
        for (int i = 0; i < into.length; i++) {
            into[i] = (float) values.get(i).asDouble();
        }
    }

    /** The golden rows: prompt and response, each response ending with EOS or not. */
    List<Rollout.Row> rows() {
        List<Rollout.Row> rows = new ArrayList<>();
        for (JsonNode r : golden.get("rows")) {
            int[] prompt = ints(r.get("prompt"));
            int[] response = ints(r.get("response"));
            rows.add(new Rollout.Row(rows.size(), prompt, response, response[response.length - 1] == EOS));
        }
        return rows;
    }

    static int[] ints(JsonNode array) {
        int[] values = new int[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = array.get(i).asInt();
        }
        return values;
    }

    /** The tiny models have no tokenizer: only their special ids (BOS 1, EOS 2). */
    static final class EosOnly implements TextTokenizer {
        @Override
        public int[] encode(String text) {
            throw new IllegalArgumentException("the tiny model has no tokenizer");
        }

        @Override
        public String decode(int[] ids) {
            throw new IllegalArgumentException("the tiny model has no tokenizer");
        }

        @Override
        public int bosId() {
            return 1;
        }

        @Override
        public int eosId() {
            return EOS;
        }

        @Override
        public String renderChat(List<ChatMessage> messages, boolean addGenerationPrompt) {
            throw new IllegalStateException("the tiny model has no chat template");
        }
    }
}

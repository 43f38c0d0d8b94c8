#!/usr/bin/env python3
"""Independent PyTorch rendering of a reward model as transformers and TRL compute one.

transformers' LlamaForSequenceClassification (modeling_layers.GenericForSequenceClassification)
applies `score` (a bias-free Linear(hidden, num_labels)) to the final hidden states of LlamaModel
and reads each row at the rightmost token that is not config.pad_token_id:
    last = argmax(arange(T) * (input_ids != pad_token_id))
TRL's RewardTrainer.compute_loss splits the scores of a batch of chosen and rejected rows and takes
    loss = -logsigmoid(r_c - r_r - margin).mean() + center_rewards_coefficient * mean((r_c + r_r)^2)
with accuracy = mean(r_c > r_r) and margin = mean(r_c - r_r). PEFT saves a sequence classifier's LoRA
adapter with task_type SEQ_CLS and the head, wrapped as a module to save, under
`base_model.model.score.weight` (ModulesToSaveWrapper.adapter_state_dict); LoRA adds
(alpha / r) * (x @ A.T) @ B.T to each targeted projection.

Two uses:
    reward_reference.py golden OUT_DIR
        writes OUT_DIR/classifier (a LlamaForSequenceClassification folder) with OUT_DIR/pairs.jsonl
        (pre-tokenized pairs with margins) and OUT_DIR/golden.json (scores, the loss, its metrics, and
        the gradients of the head and of a backbone weight, by autograd); and OUT_DIR/causal (a
        causal LM) with OUT_DIR/seqcls-adapter (a PEFT LoRA adapter of task_type SEQ_CLS),
        OUT_DIR/sequences.jsonl and OUT_DIR/adapter-golden.json (their scores).
    reward_reference.py score MODEL_DIR ADAPTER_DIR|- DATA.jsonl
        prints one JSON line per record of DATA.jsonl, as `gradus score` does: {"score": x} for
        {"input_ids"}, {"chosen_score", "rejected_score"} for {"prompt_input_ids" (optional),
        "chosen_input_ids", "rejected_input_ids"}.

Run with Debian's PyTorch: /usr/bin/python3 plugins/reward/src/test/python/reward_reference.py golden \
    plugins/reward/src/test/resources/golden
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "framework", "core", "src",
                                "test", "python"))
from llama_reference import (dense, llama_hidden, parameter_shapes, read_safetensors, save_safetensors,  # noqa: E402
                             write_base_model)

MODEL = dict(vocab_size=30, hidden_size=16, intermediate_size=36, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False)
EOS = 2
CENTER = 0.05
PAIRS = [  # (chosen ids, rejected ids, margin): a trailing EOS (= pad), a pad id inside, lengths that differ
    ([1, 5, 6, 7, 2], [1, 5, 9, 2], 0.5),
    ([1, 11, 2, 12, 13, 14], [1, 11, 2, 15], 0.0),
    ([1, 20, 21], [1, 22, 23, 24, 25, 26, 27], -0.25),
]
GRADIENTS = ["score.weight", "model.layers.0.self_attn.q_proj.weight", "model.embed_tokens.weight"]
LORA = dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])
SEQUENCES = [[1, 4, 5, 6, 2], [1, 7, 8], [1, 9, 10, 11, 12, 13, 2], [1, 3]]


def padded(rows, pad):
    t = max(len(r) for r in rows)
    return torch.tensor([r + [pad] * (t - len(r)) for r in rows])


def scores(c, w, ids, pad, linear=dense):
    """transformers' pooled logits: the score at the rightmost token of each row that is not pad; with no
    pad id (None), at the row's last position, one sequence at a time (transformers refuses a batch then)."""
    logits = llama_hidden(c, w, ids, linear) @ w["score.weight"].T
    if pad is None:
        if ids.shape[0] != 1:
            raise ValueError("no pad_token_id: transformers scores one sequence per batch")
        last = torch.tensor([-1])
    else:
        last = (torch.arange(ids.shape[1]) * (ids != pad).int()).argmax(-1)
    return logits[torch.arange(ids.shape[0]), last].squeeze(-1)


def pooled(c, w, rows, pad, linear):
    """The scores of the rows (token-id lists): padded into one batch, or one by one without a pad id."""
    if pad is None:
        return torch.cat([scores(c, w, torch.tensor([r]), None, linear).reshape(1) for r in rows])
    return scores(c, w, padded(rows, pad), pad, linear)


def lora_linear(config, tensors):
    """A projection with the adapter's low-rank update where the adapter targets it."""
    scale = config["lora_alpha"] / config["r"]

    def linear(w, name, x):
        y = x @ w[name + ".weight"].T
        a = tensors.get("base_model.model." + name + ".lora_A.weight")
        if a is not None:
            y = y + scale * (x @ a.T) @ tensors["base_model.model." + name + ".lora_B.weight"].T
        return y
    return linear


def golden(out):
    torch.manual_seed(7)
    weights = {n: (1 + 0.1 * torch.randn(s)) if n.endswith("norm.weight") else 0.3 * torch.randn(s)
               for n, s in parameter_shapes(MODEL).items() if n != "lm_head.weight"}
    weights["score.weight"] = 0.3 * torch.randn(1, MODEL["hidden_size"])
    folder = os.path.join(out, "classifier")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(dict(MODEL, architectures=["LlamaForSequenceClassification"], model_type="llama", hidden_act="silu",
                       max_position_embeddings=64, bos_token_id=1, eos_token_id=EOS, pad_token_id=EOS,
                       id2label={"0": "LABEL_0"}, label2id={"LABEL_0": 0}), f, indent=2)
    save_safetensors(os.path.join(folder, "model.safetensors"), weights, "F32")
    with open(os.path.join(out, "pairs.jsonl"), "w") as f:
        for chosen, rejected, margin in PAIRS:
            f.write(json.dumps({"chosen_input_ids": chosen, "rejected_input_ids": rejected, "margin": margin}) + "\n")

    # TRL's collator puts the chosen rows first, then the rejected ones; the loss pairs them back up.
    params = {k: v.clone().requires_grad_(True) for k, v in weights.items()}
    ids = padded([p[0] for p in PAIRS] + [p[1] for p in PAIRS], EOS)
    r = scores(MODEL, params, ids, EOS)
    chosen, rejected = torch.chunk(r, 2)
    margin = torch.tensor([p[2] for p in PAIRS])
    loss = -F.logsigmoid(chosen - rejected - margin).mean() + CENTER * torch.mean((chosen + rejected) ** 2)
    loss.backward()
    result = {
        "torch": torch.__version__,
        "center_rewards_coefficient": CENTER,
        "chosen_scores": chosen.tolist(),
        "rejected_scores": rejected.tolist(),
        "loss": loss.item(),
        "accuracy": (chosen > rejected).float().mean().item(),
        "margin": (chosen - rejected).mean().item(),
        "gradients": {g: params[g].grad.reshape(-1).tolist() for g in GRADIENTS},
    }
    with open(os.path.join(out, "golden.json"), "w") as f:
        json.dump(result, f)

    # A causal base and a SEQ_CLS LoRA adapter on it, as PEFT saves one.
    base = write_base_model(os.path.join(out, "causal"), MODEL)
    adapter = {}
    for i in range(MODEL["num_hidden_layers"]):
        for module in LORA["target_modules"]:
            name = f"base_model.model.model.layers.{i}.self_attn.{module}"
            out_features = base[f"model.layers.{i}.self_attn.{module}.weight"].shape[0]
            adapter[name + ".lora_A.weight"] = 0.3 * torch.randn(LORA["r"], MODEL["hidden_size"])
            adapter[name + ".lora_B.weight"] = 0.3 * torch.randn(out_features, LORA["r"])
    adapter["base_model.model.score.weight"] = 0.3 * torch.randn(1, MODEL["hidden_size"])
    adapter_dir = os.path.join(out, "seqcls-adapter")
    os.makedirs(adapter_dir, exist_ok=True)
    save_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"), adapter, "F32")
    with open(os.path.join(adapter_dir, "adapter_config.json"), "w") as f:
        json.dump(dict(LORA, peft_type="LORA", task_type="SEQ_CLS", modules_to_save=["classifier", "score"],
                       lora_dropout=0.0, bias="none", base_model_name_or_path="../causal", inference_mode=True),
                  f, indent=2)
    with open(os.path.join(out, "sequences.jsonl"), "w") as f:
        for s in SEQUENCES:
            f.write(json.dumps({"input_ids": s}) + "\n")
    with open(os.path.join(out, "adapter-golden.json"), "w") as f:
        json.dump({"scores": score_records(os.path.join(out, "causal"), adapter_dir,
                                           [{"input_ids": s} for s in SEQUENCES])}, f)
    print("golden reward model and SEQ_CLS adapter ->", out)


def score_records(model_dir, adapter_dir, records):
    """The scores of each record, by the model folder (a classifier, or a causal base with a SEQ_CLS
    adapter, as PEFT loads it: AutoModelForSequenceClassification on the base's config.json); the pad id
    is that config's pad_token_id, or none."""
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    c = {k: config[k] for k in MODEL}
    w = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    linear = dense
    if adapter_dir:
        with open(os.path.join(adapter_dir, "adapter_config.json")) as f:
            adapter_config = json.load(f)
        tensors = read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
        w["score.weight"] = tensors["base_model.model.score.weight"]
        linear = lora_linear(adapter_config, tensors)
    if c["tie_word_embeddings"] is False and "lm_head.weight" in w:
        del w["lm_head.weight"]
    pad = config.get("pad_token_id")
    results = []
    with torch.no_grad():
        for record in records:
            if "input_ids" in record:
                results.append({"score": scores(c, w, torch.tensor([record["input_ids"]]), pad, linear).item()})
            else:
                prompt = record.get("prompt_input_ids", [])
                pair = pooled(c, w, [prompt + record["chosen_input_ids"], prompt + record["rejected_input_ids"]], pad,
                              linear)
                results.append({"chosen_score": pair[0].item(), "rejected_score": pair[1].item()})
    return results


def score(model_dir, adapter_dir, data):
    with open(data) as f:
        records = [json.loads(line) for line in f if line.strip()]
    for result in score_records(model_dir, None if adapter_dir == "-" else adapter_dir, records):
        print(json.dumps(result))


if __name__ == "__main__":
    if sys.argv[1] == "golden":
        golden(sys.argv[2])
    elif sys.argv[1] == "score":
        score(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        raise SystemExit(__doc__)

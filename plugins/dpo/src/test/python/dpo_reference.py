#!/usr/bin/env python3
"""Independent PyTorch rendering of DPO as TRL's DPOTrainer computes it, for Gradus' golden tests.

The policy is a tiny Llama (llama_reference.py's plain-PyTorch decoder) with a PEFT LoRA adapter on
q_proj, v_proj and down_proj (each projection adds (lora_alpha / r) * (x @ A.T) @ B.T); the reference
is the same base with the adapter off, as TRL's reference is for a PEFT policy. For each sequence,
TRL's log-probability of its completion is

    logps = sum over completion positions t of log_softmax(logits[t - 1])[ids[t]]

and, with h = policy logps - reference logps, delta = h_chosen - h_rejected, z = beta * delta, eps the
label smoothing, the per-pair losses of DPOTrainer._compute_loss (TRL f2cd577; conservative DPO as
TRL's sigmoid loss computed it with label_smoothing in its 0.2x releases):

    sigmoid  -(1 - eps) * logsigmoid(z) - eps * logsigmoid(-z)
    robust   (-(1 - eps) * logsigmoid(z) + eps * logsigmoid(-z)) / (1 - 2 * eps)
    hinge    relu(1 - z)
    ipo      (h_chosen / n_chosen - h_rejected / n_rejected - 1 / (2 * beta)) ** 2   (n: completion tokens)

averaged over the pairs; the metrics rewards/chosen = mean(beta * h_chosen), rewards/rejected,
rewards/accuracies = mean(beta * h_chosen > beta * h_rejected), rewards/margins, logps/chosen,
logps/rejected, and logits/chosen = the mean over chosen completion positions (shifted, as the
log-probabilities) of the mean logit over the vocabulary. Records that carry ref_chosen_logps and
ref_rejected_logps use them instead of the reference's. The gradients of every LoRA factor come
from autograd.

    dpo_reference.py golden OUT_DIR
        writes OUT_DIR/base (a causal LM folder), OUT_DIR/adapter (a PEFT LoRA adapter on it),
        OUT_DIR/pairs.jsonl (pre-tokenized pairs) and OUT_DIR/golden.json.

Run with Debian's PyTorch: /usr/bin/python3 plugins/dpo/src/test/python/dpo_reference.py golden \
    plugins/dpo/src/test/resources/golden
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "framework", "core", "src",
                                "test", "python"))
from llama_reference import llama_logits, save_safetensors, write_base_model  # noqa: E402

MODEL = dict(vocab_size=30, hidden_size=16, intermediate_size=36, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False)
LORA = dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"])
# (prompt, chosen, rejected, given reference log-probabilities or None): completions of different
# lengths, EOS (2) inside and at the end, and one pair whose record gives its reference values.
PAIRS = [
    ([1, 5, 6], [7, 8, 2], [9, 2], None),
    ([1, 11], [12, 13, 14, 15, 2], [12, 16, 2], None),
    ([1, 20, 21, 22], [23, 2], [24, 25, 26, 27, 2], None),
    ([1, 3], [4, 2, 10], [17, 18, 2], (-30.0, -5.5)),
]
# (lossType, beta, labelSmoothing)
CASES = [("sigmoid", 0.1, 0.0), ("sigmoid", 0.5, 0.2), ("robust", 0.3, 0.1), ("hinge", 0.7, 0.0), ("ipo", 0.1, 0.0)]


def lora_linear(trainable):
    """Each projection with the adapter's low-rank update where the adapter targets it."""
    scale = LORA["lora_alpha"] / LORA["r"]

    def linear(w, name, x):
        y = x @ w[name + ".weight"].T
        if name + ".lora_A.weight" in trainable:
            y = y + scale * (x @ trainable[name + ".lora_A.weight"].T) @ trainable[name + ".lora_B.weight"].T
        return y
    return linear


def sequence(c, w, linear, prompt, completion):
    """The completion's summed log-probability, its scored positions and the sum of their mean logits."""
    ids = torch.tensor([prompt + completion])
    logits = llama_logits(c, w, ids, linear)[0]
    positions = range(len(prompt), len(prompt) + len(completion))
    logps = sum(torch.log_softmax(logits[t - 1], -1)[ids[0, t]] for t in positions)
    mean_logits = sum(logits[t - 1].mean() for t in positions).detach()
    return logps, len(completion), mean_logits.item()


def dpo_case(c, w, trainable, reference, loss_type, beta, eps):
    policy = lora_linear(trainable)
    pc, pr, hc, hr, nc, nr, lc, lr = [], [], [], [], [], [], 0.0, 0.0
    for (prompt, chosen, rejected, given), (rc, rr) in zip(PAIRS, reference):
        chosen_logps, n_chosen, chosen_logits = sequence(c, w, policy, prompt, chosen)
        rejected_logps, n_rejected, rejected_logits = sequence(c, w, policy, prompt, rejected)
        if given is not None:
            rc, rr = given
        pc.append(chosen_logps)
        pr.append(rejected_logps)
        hc.append(chosen_logps - rc)
        hr.append(rejected_logps - rr)
        nc.append(n_chosen)
        nr.append(n_rejected)
        lc += chosen_logits
        lr += rejected_logits
    hc, hr = torch.stack(hc), torch.stack(hr)
    z = beta * (hc - hr)
    if loss_type == "sigmoid":
        losses = -(1 - eps) * F.logsigmoid(z) - eps * F.logsigmoid(-z)
    elif loss_type == "robust":
        losses = (-(1 - eps) * F.logsigmoid(z) + eps * F.logsigmoid(-z)) / (1 - 2 * eps)
    elif loss_type == "hinge":
        losses = torch.relu(1 - z)
    else:
        losses = (hc / torch.tensor(nc) - hr / torch.tensor(nr) - 1 / (2 * beta)) ** 2
    loss = losses.mean()
    loss.backward()
    chosen_rewards, rejected_rewards = beta * hc.detach(), beta * hr.detach()
    return {
        "config": {"lossType": loss_type, "beta": beta, "labelSmoothing": eps, "reference": "base"},
        "loss": loss.item(),
        "pair_losses": losses.tolist(),
        "metrics": {
            "loss": loss.item(),
            "rewards/chosen": chosen_rewards.mean().item(),
            "rewards/rejected": rejected_rewards.mean().item(),
            "rewards/accuracies": (chosen_rewards > rejected_rewards).float().mean().item(),
            "rewards/margins": (chosen_rewards - rejected_rewards).mean().item(),
            "logps/chosen": torch.stack(pc).mean().item(),
            "logps/rejected": torch.stack(pr).mean().item(),
            "logits/chosen": lc / sum(nc),
            "logits/rejected": lr / sum(nr),
        },
        "gradients": {name: p.grad.reshape(-1).tolist() for name, p in trainable.items()},
    }


def golden(out):
    torch.manual_seed(11)
    base = write_base_model(os.path.join(out, "base"), MODEL)
    adapter = {}
    for i in range(MODEL["num_hidden_layers"]):
        for module in LORA["target_modules"]:
            name = f"model.layers.{i}." + ("mlp." if module == "down_proj" else "self_attn.") + module
            out_features, in_features = base[name + ".weight"].shape
            adapter[name + ".lora_A.weight"] = 0.3 * torch.randn(LORA["r"], in_features)
            adapter[name + ".lora_B.weight"] = 0.3 * torch.randn(out_features, LORA["r"])
    folder = os.path.join(out, "adapter")
    os.makedirs(folder, exist_ok=True)
    save_safetensors(os.path.join(folder, "adapter_model.safetensors"),
                     {"base_model.model." + n: t for n, t in adapter.items()}, "F32")
    with open(os.path.join(folder, "adapter_config.json"), "w") as f:
        json.dump(dict(LORA, peft_type="LORA", task_type="CAUSAL_LM", lora_dropout=0.0, bias="none",
                       base_model_name_or_path="../base", inference_mode=True), f, indent=2)
    with open(os.path.join(out, "pairs.jsonl"), "w") as f:
        for prompt, chosen, rejected, given in PAIRS:
            record = {"prompt_input_ids": prompt, "chosen_input_ids": chosen, "rejected_input_ids": rejected}
            if given is not None:
                record.update(ref_chosen_logps=given[0], ref_rejected_logps=given[1])
            f.write(json.dumps(record) + "\n")

    with torch.no_grad():
        reference = [(sequence(MODEL, base, lora_linear({}), p, ch)[0].item(),
                      sequence(MODEL, base, lora_linear({}), p, rj)[0].item()) for p, ch, rj, _ in PAIRS]
        policy = [(sequence(MODEL, base, lora_linear(adapter), p, ch)[0].item(),
                   sequence(MODEL, base, lora_linear(adapter), p, rj)[0].item()) for p, ch, rj, _ in PAIRS]
    cases = []
    for loss_type, beta, eps in CASES:
        trainable = {n: t.clone().requires_grad_(True) for n, t in adapter.items()}
        cases.append(dpo_case(MODEL, base, trainable, reference, loss_type, beta, eps))
    with open(os.path.join(out, "golden.json"), "w") as f:
        json.dump({"torch": torch.__version__, "lora": LORA,
                   "policy_logps": {"chosen": [c for c, _ in policy], "rejected": [r for _, r in policy]},
                   "reference_logps": {"chosen": [c for c, _ in reference], "rejected": [r for _, r in reference]},
                   "cases": cases}, f)
    print("golden DPO policy, reference and losses ->", out)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "golden":
        golden(sys.argv[2])
    else:
        raise SystemExit(__doc__)

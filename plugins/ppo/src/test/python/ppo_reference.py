#!/usr/bin/env python3
"""Independent PyTorch rendering of PPO as TRL's PPOTrainer computes it (trl/experimental/ppo/ppo_trainer.py),
for the golden files of the ppo bundle's tests.

TRL's rollout arithmetic, on right-padded [B, L] response tensors with padding_mask = (t > last real token):
    logr = ref_logprobs - logprobs;  kl = -logr (k1) or (exp(logr) - 1) - logr (k3)
    non_score_reward = -kl_coef * kl;  rewards = non_score_reward;  rewards[b, end_b] += score_b
    scores[~contains_eos] -= missing_eos_penalty
    GAE over reversed t: delta = r_t + gamma * V_{t+1} - V_t;  A_t = delta + gamma * lam * A_{t+1};  returns = A + V
    A = masked_whiten(A, ~padding_mask)  (unbiased variance, rsqrt(var + 1e-8))
and one micro-batch of its PPO epochs:
    ratio = exp(new_logprobs - logprobs)
    pg_loss = masked_mean(max(-A * ratio, -A * clamp(ratio, 1 - cliprange, 1 + cliprange)))
    vf_loss = 0.5 * masked_mean(max((V - R)^2, (clamp(V, V_old - cliprange_value, V_old + cliprange_value) - R)^2))
    loss = pg_loss + vf_coef * vf_loss
Where Gradus departs from TRL on purpose (docs/DESIGN.md), this rendering follows Gradus and says so: the score
goes on the last real token (TRL: one past EOS when the response is short), values and the value loss cover the
real tokens only (TRL: one more), and approxkl, clipfrac, ratio and entropy average over real tokens only.
The adaptive KL controller is TRL 0.11's AdaptiveKLController (Ziegler et al. 2019).

Two golden files:
    math.json      the arithmetic alone on random rollouts (float64), two configurations (k1 and k3)
    rollout.json   one rollout and one PPO step through a tiny Llama with LoRA (the policy), the base with the
                   adapter off (the reference), a value head on the policy's final hidden state and a
                   LlamaForSequenceClassification (the reward model), with the gradients of the LoRA factors
                   and the value head by autograd; the models are written beside it (policy/, reward/)

Run with Debian's PyTorch:
    /usr/bin/python3 plugins/ppo/src/test/python/ppo_reference.py plugins/ppo/src/test/resources/golden
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "framework", "core", "src",
                                "test", "python"))
from llama_reference import llama_hidden, parameter_shapes, save_safetensors, write_base_model  # noqa: E402

INVALID_LOGPROB = 1.0
MODEL = dict(vocab_size=30, hidden_size=16, intermediate_size=36, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False)
EOS = 2
LORA = dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])
# (prompt, response): a response ending with EOS, one cut without EOS, one that is EOS alone.
ROWS = [([1, 5, 6], [7, 8, 2]), ([1, 9], [10, 11, 12, 13]), ([1, 14, 15, 16], [2])]
SEQ_LEN = 8
ROLLOUT_CONFIG = dict(temperature=0.7, kl_coef=0.1, kl_estimator="k1", gamma=1.0, lam=0.95, missing_eos_penalty=1.0,
                      cliprange=0.2, cliprange_value=0.2, vf_coef=0.1)


def masked_mean(values, mask):
    return (values * mask).sum() / mask.sum()


def masked_whiten(values, mask):
    mean = masked_mean(values, mask)
    var = masked_mean((values - mean) ** 2, mask)
    n = mask.sum()
    var = var * n / (n - 1)
    return (values - mean) * torch.rsqrt(var + 1e-8)


def padded(rows, fill):
    width = max(len(r) for r in rows)
    return torch.tensor([list(r) + [fill] * (width - len(r)) for r in rows], dtype=torch.float64)


def rollout_arithmetic(logprobs, ref_logprobs, values, scores, eos, cfg):
    """TRL's steps 4-6 on per-row lists; returns per-row lists and the rollout's metrics."""
    lengths = torch.tensor([len(r) for r in logprobs])
    width = int(lengths.max())
    idx = torch.arange(width).repeat(len(logprobs), 1)
    sequence_lengths = lengths - 1  # TRL's name: the index of the last real token
    padding_mask = idx > sequence_lengths.unsqueeze(1)
    lp = torch.masked_fill(padded(logprobs, 0), padding_mask, INVALID_LOGPROB)
    ref = torch.masked_fill(padded(ref_logprobs, 0), padding_mask, INVALID_LOGPROB)
    v = torch.masked_fill(padded(values, 0), padding_mask, 0)  # Gradus: padding_mask (TRL: padding_mask_p1)
    scores = torch.tensor(scores, dtype=torch.float64)
    if cfg["missing_eos_penalty"] is not None:
        scores[~torch.tensor(eos)] -= cfg["missing_eos_penalty"]
    logr = ref - lp
    kl = -logr if cfg["kl_estimator"] == "k1" else (logr.exp() - 1) - logr
    non_score_reward = -cfg["kl_coef"] * kl
    rewards = non_score_reward.clone()
    rewards[torch.arange(len(logprobs)), sequence_lengths] += scores  # Gradus: the last real token
    last_gae = 0
    reversed_advantages = []
    for t in reversed(range(width)):
        next_values = v[:, t + 1] if t < width - 1 else 0.0
        delta = rewards[:, t] + cfg["gamma"] * next_values - v[:, t]
        last_gae = delta + cfg["gamma"] * cfg["lam"] * last_gae
        reversed_advantages.append(last_gae)
    advantages = torch.stack(reversed_advantages[::-1], axis=1)
    returns = advantages + v
    whitened = torch.masked_fill(masked_whiten(advantages, ~padding_mask), padding_mask, 0)
    real = ~padding_mask
    metrics = {
        "objective/kl": (kl * real).sum(1).mean().item(),
        "objective/entropy": (-lp * real).sum(1).mean().item(),  # TRL sums over padding too (as -1 each)
        "objective/non_score_reward": (non_score_reward * real).sum(1).mean().item(),
        "objective/scores": scores.mean().item(),
    }
    metrics["objective/rlhf_reward"] = metrics["objective/non_score_reward"] + metrics["objective/scores"]

    def rows_of(x):
        return [x[b, :lengths[b]].tolist() for b in range(len(logprobs))]
    return dict(rewards=rows_of(rewards), advantages=rows_of(whitened), returns=rows_of(returns),
                scores=scores.tolist(), metrics=metrics)


def ppo_losses(new_logprobs, old_logprobs, advantages, vpred, old_values, returns, cfg):
    """One micro-batch's losses (all rows, flat over real tokens since every token is real here) and figures."""
    ratio = torch.exp(new_logprobs - old_logprobs)
    pg_losses = -advantages * ratio
    pg_losses2 = -advantages * torch.clamp(ratio, 1.0 - cfg["cliprange"], 1.0 + cfg["cliprange"])
    pg_loss = torch.max(pg_losses, pg_losses2).mean()
    vpredclipped = torch.clamp(vpred, old_values - cfg["cliprange_value"], old_values + cfg["cliprange_value"])
    vf_losses1 = torch.square(vpred - returns)
    vf_losses2 = torch.square(vpredclipped - returns)
    vf_loss = 0.5 * torch.max(vf_losses1, vf_losses2).mean()
    loss = pg_loss + cfg["vf_coef"] * vf_loss
    with torch.no_grad():
        figures = {
            "loss/policy_avg": pg_loss.item(),
            "loss/value_avg": vf_loss.item(),
            "policy/clipfrac_avg": (pg_losses2 > pg_losses).double().mean().item(),
            "val/clipfrac_avg": (vf_losses2 > vf_losses1).double().mean().item(),
            "policy/approxkl_avg": (0.5 * (new_logprobs - old_logprobs) ** 2).mean().item(),
            "val/ratio": ratio.mean().item(),
        }
    return loss, figures


def math_case(seed, cfg, lengths):
    g = torch.Generator().manual_seed(seed)
    rows = len(lengths)

    def draw(scale, offset=0.0):
        return [(offset + scale * torch.randn(n, generator=g, dtype=torch.float64)).tolist() for n in lengths]
    logprobs = [[-abs(x) for x in row] for row in draw(1.5)]
    ref_logprobs = [[x + 0.3 * torch.randn(1, generator=g, dtype=torch.float64).item() for x in row] for row in logprobs]
    values = draw(0.8)
    scores = (2 * torch.randn(rows, generator=g, dtype=torch.float64)).tolist()
    eos = [bool(b % 2 == 0) for b in range(rows)]
    rollout = rollout_arithmetic(logprobs, ref_logprobs, values, scores, eos, cfg)

    # A PPO step later: the policy and the values moved, far enough that some tokens clip on each side.
    flat = lambda rows_: torch.tensor([x for r in rows_ for x in r], dtype=torch.float64)  # noqa: E731
    new_logprobs = (flat(logprobs) + 0.3 * torch.randn(sum(lengths), generator=g, dtype=torch.float64)).requires_grad_()
    vpred = (flat(values) + 0.4 * torch.randn(sum(lengths), generator=g, dtype=torch.float64)).requires_grad_()
    loss, figures = ppo_losses(new_logprobs, flat(logprobs), flat(rollout["advantages"]), vpred, flat(values),
                               flat(rollout["returns"]), cfg)
    pg = ppo_losses(new_logprobs, flat(logprobs), flat(rollout["advantages"]), vpred, flat(values),
                    flat(rollout["returns"]), dict(cfg, vf_coef=0.0))[0]
    pg_gradient, = torch.autograd.grad(pg, new_logprobs)
    vf_gradient, = torch.autograd.grad((loss - pg) / cfg["vf_coef"], vpred)
    # A target the rollout's KL overshoots by 10% (the controller's error inside its clip), or one it cannot
    # reach (the error clipped at -0.2) when the KL is not positive.
    kl_target = 1.1 * rollout["metrics"]["objective/kl"] if rollout["metrics"]["objective/kl"] > 0 else 0.5
    horizon = 200
    error = np.clip(rollout["metrics"]["objective/kl"] / kl_target - 1, -0.2, 0.2)
    return dict(config=cfg, logprobs=logprobs, ref_logprobs=ref_logprobs, values=values, scores=scores, eos=eos,
                rollout=rollout, new_logprobs=new_logprobs.tolist(), new_values=vpred.tolist(), losses=figures,
                policy_gradient=pg_gradient.tolist(), value_gradient=vf_gradient.tolist(),
                kl_target=kl_target, kl_horizon=horizon,
                next_kl_coef=cfg["kl_coef"] * (1 + error * rows / horizon))


def write_math(out):
    cases = [
        math_case(1, dict(kl_estimator="k1", kl_coef=0.05, gamma=1.0, lam=0.95, missing_eos_penalty=None, cliprange=0.2,
                          cliprange_value=0.2, vf_coef=0.1), [1, 3, 6, 4, 6]),
        math_case(2, dict(kl_estimator="k3", kl_coef=0.2, gamma=0.9, lam=0.8, missing_eos_penalty=1.5, cliprange=0.1,
                          cliprange_value=0.3, vf_coef=0.5), [5, 2, 7]),
    ]
    with open(os.path.join(out, "math.json"), "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f)


def lora_linear(tensors, scale):
    def linear(w, name, x):
        y = x @ w[name + ".weight"].T
        if name + ".lora_A.weight" in tensors:
            y = y + scale * (x @ tensors[name + ".lora_A.weight"].T) @ tensors[name + ".lora_B.weight"].T
        return y
    return linear


def lora_tensors(base_scale):
    tensors = {}
    for i in range(MODEL["num_hidden_layers"]):
        for module in LORA["target_modules"]:
            name = f"model.layers.{i}.self_attn.{module}"
            out_features = parameter_shapes(MODEL)[name + ".weight"][0]
            tensors[name + ".lora_A.weight"] = base_scale * torch.randn(LORA["r"], MODEL["hidden_size"])
            tensors[name + ".lora_B.weight"] = base_scale * torch.randn(out_features, LORA["r"])
    return tensors


def policy_pass(weights, adapter, value_head, cfg):
    """Per row: log-probs of the response tokens under logits / T, the entropies of those distributions (TRL's
    logsumexp(logits) - sum(softmax(logits) * logits)), and the values read at the same positions."""
    linear = lora_linear(adapter, LORA["lora_alpha"] / LORA["r"]) if adapter is not None else (
        lambda w, name, x: x @ w[name + ".weight"].T)
    logprobs, values, entropies = [], [], []
    for prompt, response in ROWS:
        ids = torch.tensor([prompt + response])
        hidden = llama_hidden(MODEL, weights, ids, linear)[0]
        positions = torch.arange(len(prompt) - 1, len(prompt) - 1 + len(response))
        logits = hidden[positions] @ weights["lm_head.weight"].T / cfg["temperature"]
        logprobs.append(torch.gather(F.log_softmax(logits, -1), 1, torch.tensor(response).unsqueeze(1)).squeeze(1))
        entropies.append(torch.logsumexp(logits, -1) - torch.sum(F.softmax(logits, -1) * logits, -1))
        values.append((hidden[positions] @ value_head.T).squeeze(1) if value_head is not None else None)
    return logprobs, values, entropies


def write_rollout(out):
    torch.manual_seed(11)
    cfg = ROLLOUT_CONFIG
    weights = write_base_model(os.path.join(out, "policy"), MODEL)
    reward = {n: (1 + 0.1 * torch.randn(s)) if n.endswith("norm.weight") else 0.3 * torch.randn(s)
              for n, s in parameter_shapes(MODEL).items() if n != "lm_head.weight"}
    reward["score.weight"] = 0.3 * torch.randn(1, MODEL["hidden_size"])
    os.makedirs(os.path.join(out, "reward"), exist_ok=True)
    with open(os.path.join(out, "reward", "config.json"), "w") as f:
        json.dump(dict(MODEL, architectures=["LlamaForSequenceClassification"], model_type="llama", hidden_act="silu",
                       max_position_embeddings=64, bos_token_id=1, eos_token_id=EOS, pad_token_id=EOS,
                       id2label={"0": "LABEL_0"}, label2id={"LABEL_0": 0}), f, indent=2)
    save_safetensors(os.path.join(out, "reward", "model.safetensors"), reward, "F32")
    adapter0 = lora_tensors(0.3)
    adapter1 = {k: v + 0.08 * torch.randn(v.shape) for k, v in adapter0.items()}
    value_head0 = 0.3 * torch.randn(1, MODEL["hidden_size"])
    value_head1 = value_head0 + 0.2 * torch.randn(1, MODEL["hidden_size"])

    with torch.no_grad():
        old_logprobs, values, _ = policy_pass(weights, adapter0, value_head0, cfg)
        ref_logprobs, _, _ = policy_pass(weights, None, None, cfg)
        scores = []
        for prompt, response in ROWS:
            ids = torch.tensor(prompt + response)
            last = int((torch.arange(len(ids)) * (ids != EOS).int()).argmax())  # transformers' rightmost non-pad token
            scores.append((llama_hidden(MODEL, reward, ids.unsqueeze(0))[0, last] @ reward["score.weight"].T).item())
    eos = [response[-1] == EOS for _, response in ROWS]
    as_lists = lambda xs: [x.double().tolist() for x in xs]  # noqa: E731
    rollout = rollout_arithmetic(as_lists(old_logprobs), as_lists(ref_logprobs), as_lists(values), scores, eos, cfg)

    # The step: every row in one micro-batch, the policy and the value head moved since the rollout.
    params = {k: v.clone().requires_grad_(True) for k, v in adapter1.items()}
    head = value_head1.clone().requires_grad_(True)
    new_logprobs, vpred, entropies = policy_pass(weights, params, head, cfg)
    flat = lambda xs: torch.cat([torch.as_tensor(x, dtype=torch.float64).reshape(-1) for x in xs])  # noqa: E731
    loss, figures = ppo_losses(torch.cat(new_logprobs).double(), flat(old_logprobs), flat(rollout["advantages"]),
                               torch.cat(vpred).double(), flat(values), flat(rollout["returns"]), cfg)
    loss.backward()
    figures["policy/entropy_avg"] = torch.cat(entropies).mean().item()
    flatten = lambda d: {k: v.reshape(-1).tolist() for k, v in d.items()}  # noqa: E731
    result = dict(torch=torch.__version__, config=cfg, rows=[dict(prompt=p, response=r) for p, r in ROWS],
                  seq_len=SEQ_LEN, lora=LORA, adapter0=flatten(adapter0), adapter1=flatten(adapter1),
                  value_head0=value_head0.reshape(-1).tolist(), value_head1=value_head1.reshape(-1).tolist(),
                  logprobs=as_lists(old_logprobs), ref_logprobs=as_lists(ref_logprobs), values=as_lists(values),
                  raw_scores=scores, rollout=rollout, loss=loss.item(), losses=figures,
                  gradients=dict(flatten({k: p.grad for k, p in params.items()}),
                                 **{"value_head.weight": head.grad.reshape(-1).tolist()}))
    with open(os.path.join(out, "rollout.json"), "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    os.makedirs(sys.argv[1], exist_ok=True)
    write_math(sys.argv[1])
    write_rollout(sys.argv[1])
    print("golden PPO files ->", sys.argv[1])

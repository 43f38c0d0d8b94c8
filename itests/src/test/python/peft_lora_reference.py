#!/usr/bin/env python3
"""Writes a base model and a LoRA adapter in PEFT's layout, and the logits PyTorch computes with it.

The LoRA math is PEFT's: every adapted linear computes x @ W.T + (alpha / r) * (x @ A.T) @ B.T, with
A = lora_A.weight [r, in] and B = lora_B.weight [out, r], stored as
base_model.model.<module>.lora_A.weight. ForwardAdapterTest checks that `gradus forward --adapter`
(merged or not) gives the same logits.

Run (Debian: apt-get install python3-torch):
    /usr/bin/python3 itests/src/test/python/peft_lora_reference.py itests/src/test/resources/peft-lora
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "framework", "core", "src", "test", "python"))
from llama_reference import dense, llama_logits, save_safetensors, write_base_model  # noqa: E402

CONFIG = dict(vocab_size=40, hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False)
R, ALPHA, TARGETS = 4, 8, ["q_proj", "v_proj", "down_proj"]


def with_lora(lora):
    """PEFT's LoRA forward for the adapted modules: x @ W.T + (alpha / r) * (x @ A.T) @ B.T."""
    def linear(w, name, x):
        y = dense(w, name, x)
        if name in lora:
            a, b = lora[name]
            y = y + (ALPHA / R) * ((x @ a.T) @ b.T)
        return y
    return linear


def main(out):
    torch.manual_seed(7)
    weights = write_base_model(os.path.join(out, "base"), CONFIG)

    lora, tensors = {}, {}
    for name in weights:
        module = name[: -len(".weight")]
        if any(module.endswith("." + t) for t in TARGETS):
            out_f, in_f = weights[name].shape
            a, b = 0.3 * torch.randn(R, in_f), 0.3 * torch.randn(out_f, R)  # B nonzero: a trained adapter
            lora[module] = (a, b)
            tensors[f"base_model.model.{module}.lora_A.weight"] = a
            tensors[f"base_model.model.{module}.lora_B.weight"] = b
    adapter = os.path.join(out, "adapter")
    os.makedirs(adapter, exist_ok=True)
    save_safetensors(os.path.join(adapter, "adapter_model.safetensors"), tensors, "F32")
    with open(os.path.join(adapter, "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": R, "lora_alpha": ALPHA, "lora_dropout": 0.0,
                   "target_modules": TARGETS, "bias": "none", "use_rslora": False, "fan_in_fan_out": False,
                   "inference_mode": True, "base_model_name_or_path": "base", "modules_to_save": None,
                   "init_lora_weights": True, "layers_to_transform": None}, f, indent=2)

    ids = torch.randint(0, CONFIG["vocab_size"], (1, 9))
    logits = llama_logits(CONFIG, weights, ids, with_lora(lora))
    with open(os.path.join(out, "golden.json"), "w") as f:
        json.dump({"torch": torch.__version__, "ids": ids[0].tolist(),
                   "logits": [round(v, 7) for v in logits[0].reshape(-1).tolist()]}, f)
    print("adapter with", len(tensors), "tensors ->", out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "peft-lora")

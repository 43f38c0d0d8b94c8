#!/usr/bin/env python3
"""Applies a LoRA adapter in PEFT's layout to a model folder with plain PyTorch and prints the logits.

Usage: apply_peft_adapter.py MODEL_DIR ADAPTER_DIR 1,2,3
Prints JSON {"logits": [[...] per position]}. Reads safetensors (F32) and adapter_config.json itself,
so it checks the files a Gradus run writes against PEFT's definition of LoRA, independently of Gradus.
(Debian: apt-get install python3-torch.)
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "framework", "core", "src", "test", "python"))
from llama_reference import dense, llama_logits, read_safetensors  # noqa: E402


def main(model_dir, adapter_dir, ids):
    config = json.load(open(os.path.join(model_dir, "config.json")))
    weights = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    adapter_config = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
    assert adapter_config["peft_type"] == "LORA", adapter_config["peft_type"]
    r, alpha = adapter_config["r"], adapter_config["lora_alpha"]
    scaling = alpha / (r ** 0.5 if adapter_config.get("use_rslora") else r)
    lora = {}
    for name, tensor in read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors")).items():
        prefix = "base_model.model."
        assert name.startswith(prefix), name
        module, kind = name[len(prefix):].rsplit(".lora_", 1)
        lora.setdefault(module, {})[kind.split(".")[0]] = tensor

    def linear(w, name, x):
        y = dense(w, name, x)
        if name in lora:
            y = y + scaling * ((x @ lora[name]["A"].T) @ lora[name]["B"].T)
        return y

    logits = llama_logits(config, weights, torch.tensor([ids]), linear)
    print(json.dumps({"logits": logits[0].tolist()}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], [int(t) for t in sys.argv[3].split(",")])

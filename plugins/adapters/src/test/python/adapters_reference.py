#!/usr/bin/env python3
"""Independent PyTorch rendering of the AdapterHub `adapters` library's bottleneck adapters on Llama.

The library (adapters 1.2, methods/bottleneck.py and methods/modeling.py) calls its adapter layer
after each Llama sub-layer as `attention_adapters(hidden_states, residual, None)` (and
`output_adapters` after the MLP), with no layer norm. With h the sub-layer's output and x the
residual stream, its pre_forward / forward / post_forward then compute
    u   = h + x            if original_ln_before else h
    res = h                if residual_before_ln is True else u
    out = (act(u @ W_down.T + b_down) @ W_up.T + b_up) * scaling + res
    out = out + x          if original_ln_after
with a bottleneck of int(hidden_size // reduction_factor) (at least 1). This script renders that
with plain tensors (not the library, which is not installable here) on the tiny Llama of
framework/core/src/test/python/llama_reference.py.

Two uses:
    adapters_reference.py golden OUT_DIR
        writes OUT_DIR/base (a tiny Llama), OUT_DIR/houlsby and OUT_DIR/pfeiffer (trained adapters in
        the library's layout: adapter_config.json and adapter.safetensors) and OUT_DIR/golden.json
        (input ids, the logits with each adapter, and samples of the library's bottleneck sizes),
        which AdaptersGoldenTest reads.
    adapters_reference.py apply MODEL_DIR ADAPTER_DIR 1,2,3
        prints {"logits": [[...] per position]} of the model with the adapter a Gradus run saved.

Run with Debian's PyTorch: /usr/bin/python3 plugins/adapters/src/test/python/adapters_reference.py golden \
    plugins/adapters/src/test/resources/adapterhub
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "framework", "core", "src",
                                "test", "python"))
from llama_reference import llama_logits, read_safetensors, save_safetensors, write_base_model  # noqa: E402

MODEL = dict(vocab_size=40, hidden_size=24, intermediate_size=40, num_hidden_layers=3, num_attention_heads=4,
             num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False)

# transformers' get_activation for the names adapter configurations use.
ACTIVATIONS = {"relu": F.relu, "swish": F.silu, "silu": F.silu, "gelu": F.gelu,
               "gelu_new": lambda t: F.gelu(t, approximate="tanh")}

# The library's BnConfig fields and defaults (configuration/adapter_config.py).
BN_DEFAULTS = dict(original_ln_before=False, original_ln_after=True, ln_before=False, ln_after=False,
                   init_weights="bert", init_weights_seed=None, is_parallel=False, scaling=1.0, use_gating=False,
                   residual_before_ln=True, adapter_residual_before_ln=False, inv_adapter=None,
                   inv_adapter_reduction_factor=None, cross_adapter=False, leave_out=[], dropout=0.0,
                   phm_layer=False, phm_dim=4, factorized_phm_W=True, shared_W_phm=False, shared_phm_rule=True,
                   factorized_phm_rule=False, phm_c_init="normal", phm_init_range=0.0001, learn_phm=True,
                   hypercomplex_nonlinearity="glorot-uniform", phm_rank=1, phm_bias=True, stochastic_depth=0.0)
# DoubleSeqBnConfig (Houlsby) and SeqBnConfig (Pfeiffer).
DOUBLE_SEQ_BN = dict(BN_DEFAULTS, mh_adapter=True, output_adapter=True, reduction_factor=16, non_linearity="swish")
SEQ_BN = dict(BN_DEFAULTS, original_ln_before=True, mh_adapter=False, output_adapter=True, reduction_factor=16,
              non_linearity="relu")

CASES = {
    # Houlsby with its defaults but a reduction factor for a small model; saved from LlamaForCausalLM.
    "houlsby": (dict(DOUBLE_SEQ_BN, reduction_factor=4), "model."),
    # Pfeiffer with an adapter after attention too, gelu, per-layer reduction factors, a scaling and a
    # layer left out; saved from a bare LlamaModel (no "model." prefix).
    "pfeiffer": (dict(SEQ_BN, mh_adapter=True, non_linearity="gelu", reduction_factor={"default": 6, "1": 2.5},
                      scaling=0.5, leave_out=[2]), ""),
}
LOCATIONS = {"mh_adapter": "attention_adapters", "output_adapter": "output_adapters"}


def bottleneck(config, layer, hidden):
    """int(hidden // reduction_factor), at least 1: Python's floor division, as the library does it."""
    factor = config["reduction_factor"]
    if isinstance(factor, dict):
        factor = factor.get(str(layer), factor.get("default"))
    return max(1, int(hidden // factor))


def adapter_sites(config, layers):
    """(layer, location) of every adapter the configuration places."""
    return [(i, location) for i in range(layers) if i not in config["leave_out"]
            for location in ("mh_adapter", "output_adapter") if config[location]]


def tensor_names(prefix, layer, location, name):
    module = f"{prefix}layers.{layer}.{LOCATIONS[location]}.adapters.{name}."
    return [module + suffix for suffix in ("adapter_down.0.weight", "adapter_down.0.bias", "adapter_up.weight",
                                           "adapter_up.bias")]


def with_adapters(config, tensors, prefix, name, layers):
    """The residual connections of a Llama of `layers` layers with the library's bottleneck adapter layers."""
    act = ACTIVATIONS[config["non_linearity"]]
    sites = adapter_sites(config, layers)

    def residual(layer, location, h, x):
        if (layer, location) not in sites:
            return x + h
        down_w, down_b, up_w, up_b = (tensors[n] for n in tensor_names(prefix, layer, location, name))
        u = h + x if config["original_ln_before"] else h
        res = h if config["residual_before_ln"] is True else u
        out = (act(u @ down_w.T + down_b) @ up_w.T + up_b) * config["scaling"] + res
        return out + x if config["original_ln_after"] else out
    return residual


def full_config(config, name, hidden):
    """adapter_config.json as the library's build_full_config writes it."""
    return {"config": config, "hidden_size": hidden, "model_class": "LlamaForCausalLM", "model_name": "base",
            "model_type": "llama", "name": name, "version": "adapters.1.2.0"}


def golden(out):
    torch.manual_seed(11)
    weights = write_base_model(os.path.join(out, "base"), MODEL)

    hidden = MODEL["hidden_size"]
    ids = torch.randint(0, MODEL["vocab_size"], (1, 9))
    result = {"torch": torch.__version__, "ids": ids[0].tolist(), "logits": {}}
    for case, (config, prefix) in CASES.items():
        tensors = {}
        for layer, location in adapter_sites(config, MODEL["num_hidden_layers"]):
            b = bottleneck(config, layer, hidden)
            shapes = [(b, hidden), (b,), (hidden, b), (hidden,)]
            for tensor, shape in zip(tensor_names(prefix, layer, location, case), shapes):
                tensors[tensor] = 0.3 * torch.randn(shape)  # all nonzero: a trained adapter
        folder = os.path.join(out, case)
        os.makedirs(folder, exist_ok=True)
        save_safetensors(os.path.join(folder, "adapter.safetensors"), tensors, "F32")
        with open(os.path.join(folder, "adapter_config.json"), "w") as f:
            json.dump(full_config(config, case, hidden), f, indent=2, sort_keys=True)
        logits = llama_logits(MODEL, weights, ids, residual=with_adapters(config, tensors, prefix, case, MODEL["num_hidden_layers"]))
        result["logits"][case] = [round(v, 7) for v in logits[0].reshape(-1).tolist()]
    # The library's bottleneck sizes for reduction factors hidden / b, where Python's floor division
    # of floats can land one below b.
    result["bottlenecks"] = [[h, h / b, bottleneck({"reduction_factor": h / b}, 0, h)]
                             for h in (5, 7, 10, 16, 24, 100, 768) for b in (1, 3, 5, 6, 7, 9) if b <= h]
    with open(os.path.join(out, "golden.json"), "w") as f:
        json.dump(result, f)
    print("golden adapters", list(CASES), "->", out)


def apply(model_dir, adapter_dir, ids):
    model = json.load(open(os.path.join(model_dir, "config.json")))
    weights = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    full = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
    assert full["version"].startswith("adapters."), full["version"]
    config = dict(BN_DEFAULTS, **full["config"])
    tensors = read_safetensors(os.path.join(adapter_dir, "adapter.safetensors"))
    logits = llama_logits(model, weights, torch.tensor([ids]),
                          residual=with_adapters(config, tensors, "model.", full["name"], model["num_hidden_layers"]))
    print(json.dumps({"logits": logits[0].tolist()}))


if __name__ == "__main__":
    if sys.argv[1] == "golden":
        golden(sys.argv[2])
    else:
        apply(sys.argv[2], sys.argv[3], [int(t) for t in sys.argv[4].split(",")])

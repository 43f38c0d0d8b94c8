#!/usr/bin/env python3
"""Independent PyTorch reference for Gradus' Llama engine: writes small golden files.

For each tiny configuration it draws random weights, saves them as a Hugging Face model folder
(config.json + model.safetensors, F32 or BF16), runs a plain-PyTorch Llama decoder with the
numerics of transformers' LlamaForCausalLM (eager attention, fp32) on a fixed batch, and writes
golden.json: input ids, logits, the mean next-token cross-entropy, and the gradients of that loss
for a few parameters (autograd). The Java test LlamaGoldenTest loads the folder through Gradus and
compares.

Run (Debian: apt-get install python3-torch):
    /usr/bin/python3 framework/core/src/test/python/llama_reference.py framework/core/src/test/resources/golden
"""
import json
import os
import struct
import sys

import torch
import torch.nn.functional as F

CASES = {
    # name: (config, dtype on disk)
    "gqa-untied": (dict(vocab_size=32, hidden_size=16, intermediate_size=40, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5,
                        rope_theta=10000.0, tie_word_embeddings=False), "F32"),
    "mha-tied-bf16": (dict(vocab_size=24, hidden_size=12, intermediate_size=20, num_hidden_layers=1,
                           num_attention_heads=3, num_key_value_heads=3, rms_norm_eps=1e-6,
                           rope_theta=500000.0, tie_word_embeddings=True), "BF16"),
}
GRADIENTS = ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight",
             "model.layers.0.self_attn.k_proj.weight", "model.layers.0.self_attn.v_proj.weight",
             "model.layers.0.input_layernorm.weight", "model.layers.0.mlp.down_proj.weight",
             "model.norm.weight"]
BATCH, SEQ = 2, 7


def parameter_shapes(c):
    hd = c["hidden_size"] // c["num_attention_heads"]
    q, kv = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    h, f, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    shapes = {"model.embed_tokens.weight": (v, h)}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes.update({p + "input_layernorm.weight": (h,), p + "self_attn.q_proj.weight": (q, h),
                       p + "self_attn.k_proj.weight": (kv, h), p + "self_attn.v_proj.weight": (kv, h),
                       p + "self_attn.o_proj.weight": (h, q), p + "post_attention_layernorm.weight": (h,),
                       p + "mlp.gate_proj.weight": (f, h), p + "mlp.up_proj.weight": (f, h),
                       p + "mlp.down_proj.weight": (h, f)})
    shapes["model.norm.weight"] = (h,)
    if not c["tie_word_embeddings"]:
        shapes["lm_head.weight"] = (v, h)
    return shapes


def save_safetensors(path, tensors, dtype):
    """Minimal safetensors writer: header length, JSON header, little-endian data."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        if dtype == "BF16":
            bits = t.contiguous().to(torch.bfloat16).view(torch.int16).numpy().astype("<i2")
        else:
            bits = t.contiguous().numpy().astype("<f4")
        raw = bits.tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        for raw in blobs:
            out.write(raw)


def write_base_model(folder, c):
    """A random Llama of configuration c, drawn from torch's generator as seeded, written as a Hugging
    Face folder (config.json, model.safetensors in F32); returns its weights."""
    weights = {n: (1 + 0.1 * torch.randn(s)) if n.endswith("norm.weight") else 0.3 * torch.randn(s)
               for n, s in parameter_shapes(c).items()}
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(dict(c, architectures=["LlamaForCausalLM"], model_type="llama", hidden_act="silu",
                       max_position_embeddings=64, bos_token_id=1, eos_token_id=2), f, indent=2)
    save_safetensors(os.path.join(folder, "model.safetensors"), weights, "F32")
    return weights


def read_safetensors(path):
    """Minimal safetensors reader (F32 only): name -> tensor, in file order."""
    import numpy as np
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {info['dtype']}; this reference reads F32")
        begin, end = info["data_offsets"]
        tensors[name] = torch.from_numpy(np.frombuffer(data[begin:end], dtype="<f4").copy()).reshape(info["shape"])
    return tensors


def rms_norm(x, weight, eps):
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def dense(w, name, x):
    """A linear module of the checkpoint: x @ W.T."""
    return x @ w[name + ".weight"].T


def add_residual(layer, location, output, residual):
    """A sub-layer's residual connection: the stream plus the sub-layer's output."""
    return residual + output


def llama_logits(c, w, ids, linear=dense, residual=add_residual):
    """Logits of LlamaForCausalLM; `linear(w, module_name, x)` computes each projection, and
    `residual(layer, location, output, x)` each sub-layer's residual connection (location
    "mh_adapter" after attention, "output_adapter" after the MLP, as the adapters library names
    them)."""
    head = w["model.embed_tokens.weight"] if c["tie_word_embeddings"] else w["lm_head.weight"]
    return llama_hidden(c, w, ids, linear, residual) @ head.T


def llama_hidden(c, w, ids, linear=dense, residual=add_residual):
    """The final hidden states of LlamaModel (after the final norm): what LlamaForCausalLM's lm_head
    and LlamaForSequenceClassification's score read."""
    hd = c["hidden_size"] // c["num_attention_heads"]
    nh, nkv = c["num_attention_heads"], c["num_key_value_heads"]
    b, t = ids.shape
    inv_freq = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    angles = torch.outer(torch.arange(t).float(), inv_freq)
    cos, sin = torch.cat((angles, angles), -1).cos(), torch.cat((angles, angles), -1).sin()
    mask = torch.full((t, t), float("-inf")).triu(1)

    x = w["model.embed_tokens.weight"][ids]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        n = rms_norm(x, w[p + "input_layernorm.weight"], c["rms_norm_eps"])
        q = linear(w, p + "self_attn.q_proj", n).view(b, t, nh, hd).transpose(1, 2)
        k = linear(w, p + "self_attn.k_proj", n).view(b, t, nkv, hd).transpose(1, 2)
        v = linear(w, p + "self_attn.v_proj", n).view(b, t, nkv, hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = k.repeat_interleave(nh // nkv, dim=1), v.repeat_interleave(nh // nkv, dim=1)
        scores = (q @ k.transpose(-1, -2)) * hd ** -0.5 + mask
        y = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, t, nh * hd)
        x = residual(i, "mh_adapter", linear(w, p + "self_attn.o_proj", y), x)
        n = rms_norm(x, w[p + "post_attention_layernorm.weight"], c["rms_norm_eps"])
        x = residual(i, "output_adapter", linear(w, p + "mlp.down_proj",
                     F.silu(linear(w, p + "mlp.gate_proj", n)) * linear(w, p + "mlp.up_proj", n)), x)
    return rms_norm(x, w["model.norm.weight"], c["rms_norm_eps"])


def main(out_dir):
    for index, (name, (c, dtype)) in enumerate(CASES.items()):
        torch.manual_seed(1234 + index)
        weights = {}
        for pname, shape in parameter_shapes(c).items():
            if pname.endswith("norm.weight"):
                weights[pname] = 1 + 0.1 * torch.randn(shape)
            else:
                weights[pname] = 0.3 * torch.randn(shape)
            if dtype == "BF16":  # the model Gradus loads is the rounded one: compute with it too
                weights[pname] = weights[pname].to(torch.bfloat16).float()
        folder = os.path.join(out_dir, name)
        os.makedirs(folder, exist_ok=True)
        config = dict(c, architectures=["LlamaForCausalLM"], model_type="llama", hidden_act="silu",
                      max_position_embeddings=64, attention_bias=False, mlp_bias=False, rope_scaling=None,
                      bos_token_id=1, eos_token_id=2, torch_dtype="float32")
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
        save_safetensors(os.path.join(folder, "model.safetensors"), weights, dtype)

        params = {k: v.clone().requires_grad_(True) for k, v in weights.items()}
        ids = torch.randint(0, c["vocab_size"], (BATCH, SEQ))
        logits = llama_logits(c, params, ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, c["vocab_size"]), ids[:, 1:].reshape(-1))
        loss.backward()
        golden = {
            "torch": torch.__version__,
            "ids": ids.tolist(),
            "logits": [round(v, 7) for v in logits.detach().reshape(-1).tolist()],
            "loss": loss.item(),
            "gradients": {g: [round(v, 8) for v in params[g].grad.reshape(-1).tolist()] for g in GRADIENTS},
        }
        with open(os.path.join(folder, "golden.json"), "w") as f:
            json.dump(golden, f)
        print(f"{name}: loss {loss.item():.6f}, {logits.numel()} logits -> {folder}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "golden")

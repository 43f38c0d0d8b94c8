"""Golden NF4 quantization, written independently from Gradus with PyTorch, following the algorithm
of bitsandbytes' portable ("default") backend: per block of 64, absmax = max |x|; scaled =
clamp(x * (1 / absmax), -1, 1); code = argmin |scaled - NF4| (first index on ties); an odd tail is
padded with 0.0 before packing; two codes per byte, the even element in the high nibble.

Double quantization (bitsandbytes' quantize_4bit with compress_statistics=True): the float scales
minus their mean (nested_offset) are quantized blockwise in blocks of 256 against the signed
dynamic map (create_dynamic_map), nearest value by the float midpoints of neighbouring values, a
value on a midpoint taking the lower code (the portable backend's bucketize); dequantized as
map[q] * nested_absmax + offset, each operation rounded to float. The offset is the correctly
rounded mean (torch's float32 mean differs between CPU and CUDA; it is printed beside it).

Run from this folder: /usr/bin/python3 nf4_reference.py
(writes ../resources/nf4/golden.json and ../resources/nf4/double-quant.json)
"""
import json
import os
import sys

import torch

NF4 = torch.tensor([
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
], dtype=torch.float32)


def quantize(x, block):
    n = x.numel()
    blocks = (n + block - 1) // block
    padded = torch.zeros(blocks * block, dtype=torch.float32)
    padded[:n] = x
    rows = padded.view(blocks, block)
    absmax = torch.zeros(blocks, dtype=torch.float32)
    scaled = torch.zeros(blocks * block, dtype=torch.float32)
    for b in range(blocks):
        lo, hi = b * block, min(n, (b + 1) * block)
        absmax[b] = x[lo:hi].abs().max()
        scaled[lo:hi] = torch.clamp(x[lo:hi] * (1 / absmax[b]), -1, 1)
    scaled = scaled[:n]
    if n % 2:
        scaled = torch.cat([scaled, torch.zeros(1)])
    codes = torch.argmin((scaled.view(-1, 1) - NF4).abs(), dim=-1).to(torch.uint8)
    packed = codes[::2] << 4 | codes[1::2]
    return packed, absmax


def create_dynamic_map():
    """bitsandbytes' signed dynamic 8-bit map (create_dynamic_map(signed=True, max_exponent_bits=7,
    total_bits=8)): for exponents 10^-6 .. 10^0, the midpoints of linspace(0.1, 1, 2^i + 1), with
    both signs; then 0 and 1; sorted. 256 float32 values."""
    data = []
    for i in range(7):
        boundaries = torch.linspace(0.1, 1, 2 ** i + 1, dtype=torch.float32)
        means = (boundaries[:-1] + boundaries[1:]) / 2.0
        data += ((10 ** (-6 + i)) * means).tolist()
        data += (-(10 ** (-6 + i)) * means).tolist()
    data.append(0)
    data.append(1.0)
    assert len(data) == 256
    data.sort()
    return torch.tensor(data, dtype=torch.float32)


def quantize_blockwise(a, code, block):
    """8-bit blockwise quantization against `code`: per block absmax = max |a|, scaled =
    clamp(a * (1 / max(absmax, 1e-38)), -1, 1), code index = bucketize on the float midpoints."""
    n = a.numel()
    blocks = (n + block - 1) // block
    absmax = torch.zeros(blocks, dtype=torch.float32)
    scaled = torch.zeros(n, dtype=torch.float32)
    for b in range(blocks):
        lo, hi = b * block, min(n, (b + 1) * block)
        absmax[b] = a[lo:hi].abs().max()
        scaled[lo:hi] = torch.clamp(a[lo:hi] * (1 / absmax[b].clamp(min=1e-38)), -1, 1)
    bounds = (code[:-1] + code[1:]) / 2
    return torch.bucketize(scaled, bounds).to(torch.uint8), absmax


def dequantize_blockwise(q, absmax, code, block):
    return code[q.long()] * absmax.repeat_interleave(block)[: q.numel()]


def double_quant_input(n, block):
    """An input Java builds the same way, exactly: small integers times powers of two (exact in
    float), with a different scale per block of `block` so that the scales spread."""
    i = torch.arange(n, dtype=torch.int64)
    b = i // block
    value = ((i * 7919 + 13) % 2001 - 1000).to(torch.float32)
    scale = ((b * 37) % 23 + 1).to(torch.float32) * (2.0 ** -16)
    return value * scale


def double_quant_golden():
    block = 64
    blocks = 2 * 256 + 44  # two whole blocks of 256 scales and a partial third
    n = blocks * block - 13  # the last 4-bit block is short too, and n is odd
    x = double_quant_input(n, block)
    packed, absmax = quantize(x, block)
    offset = torch.tensor(float(absmax.double().mean()), dtype=torch.float32)
    print("offset: correctly rounded %r, torch float32 mean %r" % (float(offset), float(absmax.mean())),
          file=sys.stderr)
    code = create_dynamic_map()
    q, nested = quantize_blockwise(absmax - offset, code, 256)
    scales = dequantize_blockwise(q, nested, code, 256) + offset
    weights = NF4[torch.stack([packed >> 4, packed & 0xF], dim=1).reshape(-1)[:n].long()] \
        * scales.repeat_interleave(block)[:n]
    return {
        "n": n,
        "blockSize": block,
        "dynamicMap": [float(v) for v in code],
        "packed": [int(v) for v in packed],
        "absmax": [float(v) for v in absmax],
        "offset": float(offset),
        "absmaxCodes": [int(v) for v in q],
        "nestedAbsmax": [float(v) for v in nested],
        "scales": [float(v) for v in scales],
        "weightsSum": float(weights.double().sum()),
        "weights": [float(v) for v in weights[:: 97]],
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "..", "resources", "nf4")
    torch.manual_seed(20261128)
    n, block = 301, 64  # five blocks, the last one short, and an odd count
    x = torch.randn(n, dtype=torch.float32) * 0.05
    x[70] = 0.3  # one outlier sets its block's scale
    packed, absmax = quantize(x, block)
    with open(os.path.join(out, "golden.json"), "w") as f:
        f.write(json.dumps({
            "n": n,
            "blockSize": block,
            "x": [float(v) for v in x],
            "packed": [int(v) for v in packed],
            "absmax": [float(v) for v in absmax],
        }) + "\n")
    with open(os.path.join(out, "double-quant.json"), "w") as f:
        f.write(json.dumps(double_quant_golden()) + "\n")


if __name__ == "__main__":
    main()

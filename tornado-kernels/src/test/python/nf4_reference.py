"""Golden NF4 quantization, written independently from Gradus with PyTorch, following the algorithm
of bitsandbytes' portable ("default") backend: per block of 64, absmax = max |x|; scaled =
clamp(x * (1 / absmax), -1, 1); code = argmin |scaled - NF4| (first index on ties); an odd tail is
padded with 0.0 before packing; two codes per byte, the even element in the high nibble.

Run from this folder: /usr/bin/python3 nf4_reference.py > ../resources/nf4/golden.json
"""
import json

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


def main():
    torch.manual_seed(20261128)
    n, block = 301, 64  # five blocks, the last one short, and an odd count
    x = torch.randn(n, dtype=torch.float32) * 0.05
    x[70] = 0.3  # one outlier sets its block's scale
    packed, absmax = quantize(x, block)
    print(json.dumps({
        "n": n,
        "blockSize": block,
        "x": [float(v) for v in x],
        "packed": [int(v) for v in packed],
        "absmax": [float(v) for v in absmax],
    }))


if __name__ == "__main__":
    main()

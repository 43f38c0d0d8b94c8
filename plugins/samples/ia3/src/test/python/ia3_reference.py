"""IA³ layers rendered in PyTorch, independently of the Java code, for the sample's golden test.

PEFT's IA3 Linear (peft/tuners/ia3/layer.py, forward): a module that is not feedforward scales its
output, result = base_layer(x) * ia3_l.flatten(), with ia3_l of shape (out_features, 1); a
feedforward module scales its input, result = base_layer(x * ia3_l.flatten()), with ia3_l of shape
(1, in_features). Gradients come from autograd. Writes src/test/resources/ia3_golden.json:

    /usr/bin/python3 src/test/python/ia3_reference.py   (Debian python3-torch)
"""
import json
import pathlib

import torch

ROWS = 5


def case(name, in_features, out_features, feedforward, generator):
    base = torch.nn.Linear(in_features, out_features, bias=False)
    with torch.no_grad():
        base.weight.copy_(torch.randn(out_features, in_features, generator=generator) * 0.5)
    base.weight.requires_grad_(False)
    shape = (1, in_features) if feedforward else (out_features, 1)
    # Not ones: a trained vector, so that the scaling shows in every output and gradient.
    ia3_l = (1 + 0.3 * torch.randn(*shape, generator=generator)).requires_grad_(True)
    x = torch.randn(ROWS, in_features, generator=generator).requires_grad_(True)
    dy = torch.randn(ROWS, out_features, generator=generator)

    if feedforward:
        y = base(x * ia3_l.flatten())
    else:
        y = base(x) * ia3_l.flatten()
    y.backward(dy)

    def flat(t):
        return [float(v) for v in t.detach().reshape(-1)]

    return {
        "module": name, "feedforward": feedforward, "rows": ROWS,
        "in": in_features, "out": out_features, "l_shape": list(shape),
        "weight": flat(base.weight), "l": flat(ia3_l), "x": flat(x), "dy": flat(dy),
        "y": flat(y), "dx": flat(x.grad), "dl": flat(ia3_l.grad),
    }


def main():
    generator = torch.Generator().manual_seed(3)
    # The widths of the test kit's default TinyLlama: hidden 16, MLP 24, 2 key/value heads of 4.
    cases = [
        case("model.layers.0.self_attn.k_proj", 16, 8, False, generator),
        case("model.layers.1.self_attn.v_proj", 16, 8, False, generator),
        case("model.layers.0.mlp.down_proj", 24, 16, True, generator),
    ]
    out = pathlib.Path(__file__).resolve().parents[1] / "resources" / "ia3_golden.json"
    out.write_text(json.dumps({"torch": torch.__version__, "cases": cases}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""An independent reader of bitsandbytes' NF4 layout, with numpy only (no Gradus code, no
bitsandbytes): parses model.safetensors by hand, finds every weight that has a
`<W>.quant_state.bitsandbytes__nf4` tensor, decodes its quant_state JSON, unpacks the 4-bit codes
(the even element in the high nibble) and dequantizes as bitsandbytes' dequantize_4bit does:
with double quantization absmax = nested_quant_map[absmax] * nested_absmax[block // 256] +
nested_offset, then weight = quant_map[code] * absmax[i // blocksize], each step in float32.

Prints one JSON object: config.json's quantization_config, and per quantized weight its quant_state,
the SHA-256 of its packed bytes and of its dequantized float32 values (little-endian), and the tensor
names and dtypes of the file, for the Java test to compare.

Usage: /usr/bin/python3 bnb_nf4_reader.py MODEL_DIR
"""
import hashlib
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "U8": np.uint8, "F16": np.float16}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length].decode("utf-8"))
    data = raw[8 + length:]
    tensors, dtypes = {}, {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=np.dtype(DTYPES[info["dtype"]]).newbyteorder("<"))
        tensors[name] = array.reshape(info["shape"]) if info["shape"] else array
        dtypes[name] = info["dtype"]
    return tensors, dtypes


def dequantize(tensors, weight, state):
    packed = tensors[weight].reshape(-1)
    shape = state["shape"]
    n = int(np.prod(shape))
    block = state["blocksize"]
    codes = np.empty(packed.size * 2, dtype=np.int64)
    codes[0::2] = packed >> 4
    codes[1::2] = packed & 0xF
    codes = codes[:n]
    if "nested_offset" in state:
        nested_block = state["nested_blocksize"]
        q = tensors[weight + ".absmax"].astype(np.int64)
        nested = np.repeat(tensors[weight + ".nested_absmax"], nested_block)[: q.size]
        absmax = (tensors[weight + ".nested_quant_map"][q] * nested).astype(np.float32)
        absmax = (absmax + np.float32(state["nested_offset"])).astype(np.float32)
    else:
        absmax = tensors[weight + ".absmax"]
    scales = np.repeat(absmax, block)[:n]
    return (tensors[weight + ".quant_map"][codes] * scales).astype(np.float32).reshape(shape)


def main(model_dir):
    with open(model_dir + "/config.json") as f:
        config = json.load(f)
    tensors, dtypes = read_safetensors(model_dir + "/model.safetensors")
    suffix = ".quant_state.bitsandbytes__nf4"
    weights = {}
    for name in sorted(tensors):
        if not name.endswith(suffix):
            continue
        weight = name[: -len(suffix)]
        state = json.loads(bytes(tensors[name]).decode("utf-8"))
        values = dequantize(tensors, weight, state)
        weights[weight] = {
            "quant_state": state,
            "packed_shape": list(tensors[weight].shape),
            "packed_sha256": hashlib.sha256(tensors[weight].tobytes()).hexdigest(),
            "dequantized_sha256": hashlib.sha256(values.astype("<f4").tobytes()).hexdigest(),
        }
    print(json.dumps({
        "quantization_config": config.get("quantization_config"),
        "weights": weights,
        "dtypes": dtypes,
    }))


if __name__ == "__main__":
    main(sys.argv[1])

"""The PyTorch side of `gradus bench`: one process that sets up a workload once and then runs one
timed step per request, so that the Java side can alternate Gradus and PyTorch step by step.

    reference_worker.py train CONFIG MODE THREADS     CONFIG small|medium, MODE full|lora|dpo|dpo_lora|infer
    reference_worker.py matmul LAYOUT M N K THREADS   C[M,N] = op(A) op(B), LAYOUT AB|ABT|ATB, fp32 (torch.mm)

Protocol (one JSON object per line on stdout): first {"event": "ready", ...} with what the process
runs on (PyTorch's version and build, the BLAS library mapped into this process, its kernel, the
OpenMP wait policy); then for each line "step" read on stdin, one {"s": seconds} timed around the
step alone; "end" answers {"event": "end", "peak_rss_mib": ...} and exits.

The process refuses to run (exit status 3, the reason on stderr) on a BLAS that would make the
comparison meaningless: netlib's reference BLAS (Debian's default libblas3, 2-4 GFLOP/s) or an
OpenBLAS that chose a kernel older than the CPU (it misdetects some virtual CPUs as "Prescott",
at an eighth of the speed).
"""
import copy
import ctypes
import json
import os
import re
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_model import SHAPES, Llama, dpo_sigmoid_loss, lora_disabled, next_token_loss, sequence_log_probs  # noqa: E402

# OpenBLAS kernels written for CPUs without AVX2 (from OpenBLAS' TARGET list); on a CPU that has
# AVX2 they run at a fraction of its speed.
PRE_AVX2_CORES = {"katmai", "coppermine", "northwood", "prescott", "banias", "atom", "core2", "penryn",
                  "dunnington", "nehalem", "sandybridge", "opteron", "barcelona", "bobcat", "bulldozer",
                  "piledriver", "steamroller", "excavator", "generic"}


class Refused(Exception):
    pass


def mapped_blas():
    """Every BLAS-like shared library this process has mapped, from /proc/self/maps."""
    paths = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if path.startswith("/") and any(n in os.path.basename(path).lower() for n in ("blas", "mkl", "blis")):
                paths.add(os.path.realpath(path))
    return sorted(paths)


class DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def provider(caller, symbol):
    """The file whose `symbol` the shared library `caller` calls: dlsym on the caller's handle searches
    it and its dependencies in the order its own relocations do, and dladdr names the file. Which
    libraries are mapped is not enough: with LD_LIBRARY_PATH naming netlib's libblas.so.3, OpenBLAS is
    mapped too (LAPACK pulls it in), yet every sgemm_ goes to netlib."""
    address = ctypes.cast(getattr(ctypes.CDLL(caller), symbol), ctypes.c_void_p).value
    info = DlInfo()
    if not ctypes.CDLL("libc.so.6").dladdr(ctypes.c_void_p(address), ctypes.byref(info)):
        raise Refused(f"cannot tell which library provides {symbol} to {caller}")
    return os.path.realpath(info.dli_fname.decode())


def cpu_flags():
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def identify_blas():
    """{vendor, library, core, ...} of the BLAS whose sgemm_ PyTorch calls, or Refused."""
    caller, symbol = os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so"), "sgemm_"
    path = provider(caller, symbol)
    library = ctypes.CDLL(path)
    found = {"library": path, "caller": os.path.basename(caller), "symbol": symbol, "mapped": mapped_blas()}
    if hasattr(library, "openblas_get_corename"):
        library.openblas_get_corename.restype = ctypes.c_char_p
        library.openblas_get_config.restype = ctypes.c_char_p
        core = library.openblas_get_corename().decode()
        found.update(vendor="OpenBLAS", core=core, config=library.openblas_get_config().decode(),
                     threads=library.openblas_get_num_threads())
        if core.lower() in PRE_AVX2_CORES and "avx2" in cpu_flags():
            raise Refused(f"OpenBLAS ({path}) chose its {core} kernel on a CPU with AVX2: it would run at a fraction "
                          "of the CPU's speed; set OPENBLAS_CORETYPE to this CPU's kind (SkylakeX, Haswell, Zen)")
        return found
    if hasattr(library, "mkl_get_max_threads"):
        return {**found, "vendor": "MKL", "core": "mkl", "threads": library.mkl_get_max_threads()}
    if hasattr(library, "bli_info_get_version_str"):
        return {**found, "vendor": "BLIS", "core": "blis"}
    raise Refused(f"{symbol} comes from {path}, netlib's reference BLAS or an unknown one: PyTorch would multiply at a "
                  "few GFLOP/s; install an optimized BLAS (Debian: apt-get install libopenblas0-openmp)")


def torch_build():
    """The build settings PyTorch reports that name its BLAS and CPU kernels."""
    shown = torch.__config__.show()
    settings = {key: value for key, value in re.findall(r"(\w+)=([^,\n]*)", shown)
                if key in ("BLAS_INFO", "LAPACK_INFO", "USE_MKLDNN", "USE_OPENMP")}
    capability = re.search(r"CPU capability usage: (\w+)", shown)
    settings["cpu_capability"] = capability.group(1) if capability else "unknown"
    return settings


def train_step(config, mode):
    """The step function and its tokens: forward, loss, backward, AdamW (or a forward alone).

    full and lora: the next-token loss over a batch of B random rows of T tokens. dpo and dpo_lora
    (TRL's DPOTrainer, sigmoid loss at beta 0.1): B pairs, chosen row b those random tokens and
    rejected row b random tokens sharing its first T/4 (the prompt), in adjacent rows as Gradus' dpo
    objective batches them; the completions from T/4 on are scored. The reference's log-probabilities
    come from a no-grad pass of a frozen copy of the starting model (dpo, full fine-tuning) or of the
    same model with its LoRA branch off (dpo_lora, as PEFT's disable_adapter), then the policy's pass
    over the 2B rows, its backward pass and AdamW. Tokens per step count every row through the policy.
    """
    shape = SHAPES[config]
    torch.manual_seed(0)
    model = Llama(shape)
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(0, shape.vocab, (shape.batch, shape.seq), generator=generator)
    if mode == "infer":
        def infer():
            with torch.no_grad():
                model(ids)
        return infer, shape.batch * shape.seq, {"params": sum(p.numel() for p in model.parameters())}
    dpo = mode in ("dpo", "dpo_lora")
    reference = None
    if mode == "dpo":
        reference = copy.deepcopy(model).requires_grad_(False)
    trainable = model.add_lora(8, 16) if mode in ("lora", "dpo_lora") else list(model.parameters())
    optimizer = torch.optim.AdamW(trainable, lr=1e-4, weight_decay=0.0)
    # the policy's parameters, LoRA's included (the reference's copy is not the policy's)
    params = {"params": sum(p.numel() for p in model.parameters()), "trainable": sum(p.numel() for p in trainable)}

    if not dpo:
        def train():
            optimizer.zero_grad(set_to_none=True)
            next_token_loss(model(ids), ids).backward()
            optimizer.step()
        return train, shape.batch * shape.seq, params

    prompt = shape.seq // 4
    rejected = torch.randint(0, shape.vocab, (shape.batch, shape.seq), generator=generator)
    rejected[:, :prompt] = ids[:, :prompt]
    pairs = torch.stack((ids, rejected), 1).reshape(2 * shape.batch, shape.seq)  # chosen, rejected, chosen, ...

    def train_dpo():
        optimizer.zero_grad(set_to_none=True)
        with torch.no_grad():
            if reference is not None:
                reference_logps = sequence_log_probs(reference(pairs), pairs, prompt)
            else:
                with lora_disabled(model):
                    reference_logps = sequence_log_probs(model(pairs), pairs, prompt)
        policy_logps = sequence_log_probs(model(pairs), pairs, prompt)
        dpo_sigmoid_loss(policy_logps, reference_logps, beta=0.1).backward()
        optimizer.step()
    return train_dpo, 2 * shape.batch * shape.seq, params


def matmul_step(layout, m, n, k):
    """C[m,n] = op(A)·op(B) as Gradus' MatmulLayout names it: AB, ABT (A·Bᵀ, B stored [n,k], a linear
    layer's forward) or ATB (Aᵀ·B, A stored [k,m], its weight gradient); the transposes are views, so
    OpenBLAS gets the same transpose flags a PyTorch model's products give it."""
    generator = torch.Generator().manual_seed(0)
    shapes = {"AB": ((m, k), (k, n)), "ABT": ((m, k), (n, k)), "ATB": ((k, m), (k, n))}
    if layout not in shapes:
        raise SystemExit(f"unknown layout {layout}: AB, ABT or ATB")
    a = torch.rand(*shapes[layout][0], generator=generator) - 0.5
    b = torch.rand(*shapes[layout][1], generator=generator) - 0.5
    left = a.t() if layout == "ATB" else a
    right = b.t() if layout == "ABT" else b
    c = torch.empty(m, n)
    # the operands' strides as torch.mm sees them: (1, rows) is a transposed view, which OpenBLAS
    # gets as a transpose flag rather than a copy
    strides = {"left_strides": list(left.stride()), "right_strides": list(right.stride())}
    return lambda: torch.mm(left, right, out=c), {"flops": 2.0 * m * n * k, **strides}


def main(argv):
    kind, threads = argv[1], int(argv[-1])
    torch.set_num_threads(threads)
    if kind == "train":
        step, tokens, info = train_step(argv[2], argv[3])
        info.update(config=argv[2], mode=argv[3], tokens_per_step=tokens)
    elif kind == "matmul":
        if len(argv) != 7 or not all(v.isdigit() and int(v) > 0 for v in argv[3:6]):
            raise SystemExit("usage: reference_worker.py matmul LAYOUT M N K THREADS (M, N, K positive integers)")
        m, n, k = (int(v) for v in argv[3:6])
        step, info = matmul_step(argv[2], m, n, k)
        info.update(layout=argv[2], m=m, n=n, k=k)
    else:
        raise SystemExit(f"unknown workload {kind}: train or matmul")
    step()  # loads and initializes everything the step touches, before the BLAS is identified
    try:
        blas = identify_blas()
    except Refused as refused:
        print(f"reference refused: {refused}", file=sys.stderr, flush=True)
        return 3
    ready = {"event": "ready", "pid": os.getpid(), "threads": threads, "torch": torch.__version__, "torch_build": torch_build(), "blas": blas,
             "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default (spin, then sleep)"), **info}
    print(json.dumps(ready), flush=True)
    for line in sys.stdin:
        request = line.strip()
        if request == "step":
            start = time.perf_counter()
            step()
            print(json.dumps({"s": time.perf_counter() - start}), flush=True)
        elif request == "end":
            print(json.dumps({"event": "end",
                              "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
            return 0
        else:
            print(f"unknown request {request!r}: step or end", file=sys.stderr, flush=True)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

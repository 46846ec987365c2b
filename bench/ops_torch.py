"""PyTorch side of bench/ops.ts (issue 3): the same cases, timed in the same run.

bench/ops.ts starts this script and drives it over stdin/stdout, one JSON object per line, so the case
definitions live in one place (ops.ts) and the two sides can be interleaved rep block by rep block:

  <- {"ready": true, "torch": "1.13.0a0", ...}            on start
  -> {"op": "setup", "spec": {...}}   <- {"ok": true}      build a case's tensors
  -> {"op": "run", "name": ..., "reps": k}  <- {"ms": [...]}  time k steps, one time per step
  -> {"op": "drop", "name": ...}      <- {"ok": true}      free a case's tensors
  -> {"op": "quit"}

Each step mirrors the lowbit step in ops.ts op for op (torch.nn.functional, not nn modules, so both
sides issue the same ATen calls); grads of leaves are set to None inside the step, as
optimizer.zero_grad(set_to_none=True) does in a training loop.
"""
import json
import math
import platform
import re
import sys
import time
import traceback

import torch
import torch.nn.functional as F


def memory_format(name):
    return torch.channels_last if name == "channelsLast" else torch.contiguous_format


def leaf(t):
    return t.detach().requires_grad_()


def conv_case(spec):
    mf = memory_format(spec["format"])
    b, cin, cout, hw, stride = spec["batch"], spec["cin"], spec["cout"], spec["hw"], spec["stride"]
    ho = (hw + 2 - 3) // stride + 1
    x = leaf(torch.randn(b, cin, hw, hw).contiguous(memory_format=mf))
    w = leaf((torch.randn(cout, cin, 3, 3) * math.sqrt(2 / (9 * cin))).contiguous(memory_format=mf))
    gy = torch.randn(b, cout, ho, ho).contiguous(memory_format=mf)

    def step():
        x.grad = None
        w.grad = None
        y = F.conv2d(x, w, None, stride, 1)
        y.backward(gy)

    return step


def matmul_case(spec):
    a = torch.randn(spec["m"], spec["k"])
    b = torch.randn(spec["k"], spec["n"])

    def step():
        torch.matmul(a, b)

    return step


def block_case(spec):
    mf = memory_format(spec["format"])
    n, c, hw = spec["batch"], spec["channels"], spec["hw"]
    x = leaf(torch.randn(n, c, hw, hw).contiguous(memory_format=mf))
    w1 = leaf((torch.randn(c, c, 3, 3) * math.sqrt(2 / (9 * c))).contiguous(memory_format=mf))
    w2 = leaf((torch.randn(c, c, 3, 3) * math.sqrt(2 / (9 * c))).contiguous(memory_format=mf))
    g1, b1, g2, b2 = leaf(torch.ones(c)), leaf(torch.zeros(c)), leaf(torch.ones(c)), leaf(torch.zeros(c))
    rm1, rv1, rm2, rv2 = torch.zeros(c), torch.ones(c), torch.zeros(c), torch.ones(c)
    gy = torch.randn(n, c, hw, hw).contiguous(memory_format=mf)
    leaves = [x, w1, w2, g1, b1, g2, b2]

    def step():
        for t in leaves:
            t.grad = None
        out = F.conv2d(x, w1, None, 1, 1)
        out = F.batch_norm(out, rm1, rv1, g1, b1, True, 0.1, 1e-5)
        out = F.relu(out)
        out = F.conv2d(out, w2, None, 1, 1)
        out = F.batch_norm(out, rm2, rv2, g2, b2, True, 0.1, 1e-5)
        out = F.relu(out + x)
        out.backward(gy)

    return step


MAKERS = {"conv": conv_case, "matmul": matmul_case, "block": block_case}


def blas_in_use():
    """Which BLAS this process loaded, read the same way as lowbit's blasInUse()."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                m = re.search(r"\s(/\S*/(lib(?:openblas|blas|mkl_rt|mkl_core|blis|flexiblas)[^/\s]*))$", line.rstrip("\n"))
                if m:
                    libs.add(m.group(1))
    except OSError:
        return "unknown (no /proc/self/maps)"
    openblas = [p for p in libs if "openblas" in p]
    if openblas:
        return f"OpenBLAS ({openblas[0]})"
    return ", ".join(sorted(libs)) or "none loaded"


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    threads = int(sys.argv[1])
    torch.set_num_threads(threads)
    torch.matmul(torch.randn(8, 8), torch.randn(8, 8))  # loads BLAS before blas_in_use() looks
    reply(
        {
            "ready": True,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "executable": sys.executable,
            "blas": blas_in_use(),
            "mkldnn": torch.backends.mkldnn.is_available(),
        }
    )
    steps = {}
    for line in sys.stdin:
        req = json.loads(line)
        try:
            op = req["op"]
            if op == "quit":
                break
            if op == "setup":
                spec = req["spec"]
                torch.manual_seed(0)
                steps[spec["name"]] = MAKERS[spec["kind"]](spec)
                reply({"ok": True})
            elif op == "run":
                step = steps[req["name"]]
                ms = []
                for _ in range(req["reps"]):
                    t0 = time.perf_counter()
                    step()
                    ms.append((time.perf_counter() - t0) * 1e3)
                reply({"ms": ms})
            elif op == "drop":
                steps.pop(req["name"], None)
                reply({"ok": True})
            else:
                reply({"error": f"unknown op {op!r}"})
        except Exception:
            reply({"error": traceback.format_exc()})


if __name__ == "__main__":
    main()

"""PyTorch side of bench/train-throughput.ts (issue 4) and bench/qat-throughput.ts (issue 5).

  python3 bench/train_throughput_torch.py '<TrainCase as JSON>' THREADS

Builds the same ResNet-20 as lowbit's src/models/resnet.ts (CIFAR-style: 3x3 stem conv of 16 channels +
BN + ReLU; three stages of three BasicBlocks at 16/32/64 channels, stride 2 at the first block of stages
2 and 3; BasicBlock = conv3x3-BN-ReLU-conv3x3-BN + shortcut, then ReLU, the shortcut a 1x1 conv (stride)
+ BN where the shape changes, "option B"; convs without bias; global average pool; Linear 64 -> classes),
in channels-last like the lowbit side, with the same SGD and one synthetic batch kept in memory.

For a case with a quant config it is the same fake-quant model as lowbit's quantizeModel builds
(src/quant/quantize-model.ts), written as a PyTorch user would, with autograd Functions:
- every conv/linear fake-quantizes its weight with SAWB, per tensor, alpha recomputed at every step
  (src/quant/sawb.ts); 2 bits in the body, firstLast bits (8) for the stem conv and the FC;
- every conv/linear except the stem conv quantizes its own input with PACT (learned alpha, init from the
  config, 1.0; src/quant/pact.ts): 2 bits in the body, 8 bits before the FC. So a block input read by
  conv1 and by the shortcut conv is quantized twice, once by each, as in lowbit.
The alphas train with the other parameters (one SGD group, weight decay included).

It then speaks bench/lib/step-protocol.ts over stdin/stdout: {"ready": ...}, then one {"ms": [...]}
answer per {"op": "run", "steps": k}, until {"op": "quit"}.
"""
import json
import platform
import resource
import sys
import time
import traceback

import torch
import torch.nn as nn
import torch.nn.functional as F

from ops_torch import blas_in_use  # this script's directory is on sys.path

# (c1, c2) of SAWB's alpha = c1 sqrt(E[w^2]) + c2 E[|w|], by bit width (src/quant/sawb.ts).
SAWB_COEFFICIENTS = {2: (3.12, -2.064), 3: (7.509, -6.892), 4: (12.68, -12.8), 5: (17.74, -18.64), 8: (31.76, -35.04)}


class SawbSTE(torch.autograd.Function):
    """w_q = c * alpha / n with c odd in [-n, n], n = 2^b - 1; gradient passed inside [-alpha, alpha]."""

    @staticmethod
    def forward(ctx, w, c1, c2, n):
        alpha = w.square().mean().sqrt() * c1 + w.abs().mean() * c2
        s = alpha / n
        codes = (w / s).clamp(-n, n).add(n).div(2).round().mul(2).sub(n)
        ctx.save_for_backward(w.abs() <= alpha)
        return codes * s

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        return grad * inside, None, None, None


class PactSTE(torch.autograd.Function):
    """y_q = round(clip(x, 0, alpha) / s) s, s = alpha / n; dx = [0 <= x < alpha], dalpha = sum over x >= alpha."""

    @staticmethod
    def forward(ctx, x, alpha, n):
        y = torch.minimum(x.clamp(min=0), alpha)
        s = alpha / n
        ctx.save_for_backward(x, alpha)
        return (y / s).clamp(0, n).round() * s

    @staticmethod
    def backward(ctx, grad):
        x, alpha = ctx.saved_tensors
        above = x >= alpha
        grad_x = grad * ((x >= 0) & ~above)
        grad_alpha = (grad * above).sum().reshape(1)
        return grad_x, grad_alpha, None


class QuantMixin:
    """Weight SAWB at wbits and, when abits is set, PACT on the layer's input."""

    def init_quant(self, wbits, abits, alpha_init):
        self.wbits, self.abits = wbits, abits
        self.c1, self.c2 = SAWB_COEFFICIENTS[wbits]
        self.alpha = nn.Parameter(torch.full((1,), float(alpha_init))) if abits is not None else None

    def quant_input(self, x):
        return x if self.alpha is None else PactSTE.apply(x, self.alpha, 2**self.abits - 1)

    def quant_weight(self):
        return SawbSTE.apply(self.weight, self.c1, self.c2, 2**self.wbits - 1)


class QuantConv2d(QuantMixin, nn.Conv2d):
    def __init__(self, *args, wbits, abits, alpha_init, **kwargs):
        super().__init__(*args, **kwargs)
        self.init_quant(wbits, abits, alpha_init)

    def forward(self, x):
        return self._conv_forward(self.quant_input(x), self.quant_weight(), self.bias)


class QuantLinear(QuantMixin, nn.Linear):
    def __init__(self, *args, wbits, abits, alpha_init, **kwargs):
        super().__init__(*args, **kwargs)
        self.init_quant(wbits, abits, alpha_init)

    def forward(self, x):
        return F.linear(self.quant_input(x), self.quant_weight(), self.bias)


class LayerFactory:
    """Float layers, or quantized ones per role ('first', 'body', 'last') as lowbit's layerQuantSpec."""

    def __init__(self, quant):
        self.quant = quant
        if quant is None:
            return
        unsupported = set(quant) - {"weight", "act", "firstLast"}
        fl = quant.get("firstLast", {"bits": 8})
        if (
            unsupported
            or quant["weight"]["kind"] != "sawb"
            or quant["act"] is None
            or quant["act"]["kind"] != "pact"
            or not isinstance(fl, dict)
            or set(fl) != {"bits"}
        ):
            raise ValueError(f"train_throughput_torch.py implements SAWB weights + PACT inputs with firstLast {{bits}} only, got {json.dumps(quant)}")
        self.first_last_bits = fl["bits"]

    def spec(self, role):
        q = self.quant
        if role == "body":
            return dict(wbits=q["weight"]["bits"], abits=q["act"]["bits"], alpha_init=q["act"].get("alphaInit", 1.0))
        # The first layer's input is the data: not quantized (firstLast.quantizeInput is false).
        abits = self.first_last_bits if role == "last" else None
        return dict(wbits=self.first_last_bits, abits=abits, alpha_init=q["act"].get("alphaInit", 1.0))

    def conv(self, cin, cout, k, stride=1, padding=0, role="body"):
        if self.quant is None:
            return nn.Conv2d(cin, cout, k, stride=stride, padding=padding, bias=False)
        return QuantConv2d(cin, cout, k, stride=stride, padding=padding, bias=False, **self.spec(role))

    def linear(self, cin, cout, role="last"):
        if self.quant is None:
            return nn.Linear(cin, cout)
        return QuantLinear(cin, cout, **self.spec(role))


class BasicBlock(nn.Module):
    def __init__(self, make, cin, cout, stride):
        super().__init__()
        self.conv1 = make.conv(cin, cout, 3, stride, 1)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = make.conv(cout, cout, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential(make.conv(cin, cout, 1, stride), nn.BatchNorm2d(cout)) if stride != 1 or cin != cout else None

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        s = self.shortcut(x) if self.shortcut is not None else x
        return F.relu(y.add_(s))  # in place, as lowbit's BasicBlock (and torchvision's)


class ResNet20(nn.Module):
    def __init__(self, in_channels, num_classes, quant):
        super().__init__()
        make = LayerFactory(quant)
        self.stem = nn.Sequential(make.conv(in_channels, 16, 3, 1, 1, role="first"), nn.BatchNorm2d(16), nn.ReLU())
        blocks, cin = [], 16
        for width, stride in ((16, 1), (32, 2), (64, 2)):
            for b in range(3):
                blocks.append(BasicBlock(make, cin, width, stride if b == 0 else 1))
                cin = width
        self.layers = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = make.linear(cin, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        return self.fc(self.flatten(self.pool(self.layers(self.stem(x)))))


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def build(case):
    if case["data"] != "synthetic":
        raise ValueError(f"the PyTorch side feeds synthetic data only, got data {case['data']!r}")
    torch.manual_seed(case["seed"])
    model = ResNet20(case["inChannels"], case["numClasses"], case["quant"]).to(memory_format=torch.channels_last).train()
    o = case["optimizer"]
    optimizer = torch.optim.SGD(model.parameters(), lr=o["lr"], momentum=o["momentum"], weight_decay=o["weightDecay"], nesterov=o["nesterov"])
    b, c, s = case["batch"], case["inChannels"], case["inputSize"]
    x = torch.randn(b, c, s, s).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, case["numClasses"], (b,))

    def step():
        loss = F.cross_entropy(model(x), y)
        loss.item()  # as the lowbit side: the training loop reads the loss every step
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return b

    info = {
        "parameterTensors": sum(1 for _ in model.parameters()),
        "parameterScalars": sum(p.numel() for p in model.parameters()),
        # foreach=None runs the per-parameter loop on CPU (torch 1.13 turns None into False), as lowbit's SGD.
        "optimizer": f"torch.optim.SGD foreach={optimizer.defaults.get('foreach')}",
        "data": "synthetic: one random batch in memory, reused every step",
    }
    return step, info


def main():
    case = json.loads(sys.argv[1])
    torch.set_num_threads(int(sys.argv[2]))
    try:
        step, info = build(case)
        torch.matmul(torch.randn(8, 8), torch.randn(8, 8))  # loads BLAS before blas_in_use() looks
    except Exception:
        reply({"error": traceback.format_exc()})
        return
    reply(
        {
            "ready": True,
            "side": "pytorch",
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "executable": sys.executable,
            "blas": blas_in_use(),
            "mkldnn": torch.backends.mkldnn.is_available(),
            **info,
        }
    )
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] == "quit":
            break
        try:
            if req["op"] != "run":
                raise ValueError(f"unknown op {req['op']!r}")
            ms, images = [], 0
            for _ in range(req["steps"]):
                t0 = time.perf_counter()
                images += step()
                ms.append((time.perf_counter() - t0) * 1e3)
            max_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
            reply({"ms": ms, "images": images, "maxRssMiB": max_rss_mib})
        except Exception:
            reply({"error": traceback.format_exc()})


if __name__ == "__main__":
    main()

"""Verify each custom autograd layer against the same math written with built-in
operations (``layers.*Reference``, whose backward autograd derives): ``gradcheck`` of the
hand-written backward in float64, the largest forward and backward differences in float32
at non-trivial parameter values (random gates, beta = 0.8, p = 3), and the speed of one
forward + backward relative to the reference. The workflow writes this table into the
report, so a reader sees the evidence, not only the test suite."""

from __future__ import annotations

import statistics
import time

import pandas as pd
import torch
from torch.autograd import gradcheck
from torch.func import functional_call

from cnnlab.models.layers import (GatedConv2d, GatedConv2dReference, GeMPool2d, GeMPool2dReference,
                           SqueezeExcite, SqueezeExciteReference, SwishBeta,
                           SwishBetaReference)


def cases():
    """(layer, custom module, reference module, input shape, positive inputs only)."""
    gated = GatedConv2d(16, 16, 3, padding=1)
    with torch.no_grad():
        gated.gate.uniform_(0.2, 1.5)  # not the gate = 1 where it is a plain conv
    return [
        ("gated convolution", gated, GatedConv2dReference(16, 16, 3, padding=1),
         (8, 16, 16, 16), False),
        ("squeeze-excite", SqueezeExcite(16), SqueezeExciteReference(16), (8, 16, 16, 16),
         False),
        ("Swish-beta (beta 0.8)", SwishBeta(0.8), SwishBetaReference(0.8), (8, 16, 16, 16),
         False),
        ("GeM pooling (p 3)", GeMPool2d(3.0), GeMPool2dReference(3.0), (8, 16, 8, 8), True),
    ]


def _input(shape, positive: bool, dtype=torch.float32) -> torch.Tensor:
    x = torch.randn(*shape, dtype=dtype)
    return (x.abs() + 0.1 if positive else x).requires_grad_()


def passes_gradcheck(module, shape, positive: bool) -> bool:
    """gradcheck in float64 on a small input, with respect to the input and every
    parameter (through ``functional_call``)."""
    module = module.double()
    names = [n for n, _ in module.named_parameters()]
    params = [p.detach().clone().requires_grad_() for _, p in module.named_parameters()]
    x = _input((2, shape[1], 5, 5), positive, torch.float64)

    def run(x, *ps):
        return functional_call(module, dict(zip(names, ps)), (x,))

    ok = gradcheck(run, (x, *params), raise_exception=False)
    module.float()
    return bool(ok)


def _grads(module, x, upstream):
    x = x.detach().clone().requires_grad_()
    module.zero_grad(set_to_none=True)
    y = module(x)
    y.backward(upstream)
    return y.detach(), [x.grad, *(p.grad for p in module.parameters())]


def time_ratio(custom, reference, x, repeats: int) -> tuple[float, float]:
    """Median milliseconds of one forward + backward, custom and reference, interleaved."""
    times = {"custom": [], "reference": []}
    for _ in range(repeats):
        for name, module in (("custom", custom), ("reference", reference)):
            xi = x.detach().clone().requires_grad_()
            start = time.perf_counter()
            module(xi).sum().backward()
            times[name].append(time.perf_counter() - start)
    return (1e3 * statistics.median(times["custom"]),
            1e3 * statistics.median(times["reference"]))


def verify_layers(repeats: int = 30, seed: int = 0) -> pd.DataFrame:
    torch.manual_seed(seed)
    rows = []
    for name, custom, reference, shape, positive in cases():
        reference.load_state_dict(custom.state_dict())
        x = _input(shape, positive)
        upstream = torch.randn(custom(x).shape)
        y_c, g_c = _grads(custom, x, upstream)
        y_r, g_r = _grads(reference, x, upstream)
        forward = float((y_c - y_r).abs().max())
        backward = max(float((a - b).abs().max()) for a, b in zip(g_c, g_r))
        # Relative to the gradient's own size: parameter gradients are sums over the
        # whole batch, so their float32 rounding grows with them.
        backward_rel = max(float((a - b).abs().max() / b.abs().max()) for a, b in zip(g_c, g_r))
        ms_custom, ms_reference = time_ratio(custom, reference, x, repeats)
        rows.append({"layer": name, "gradcheck": passes_gradcheck(custom, shape, positive),
                     "max_forward_diff": forward, "max_backward_diff": backward,
                     "max_backward_rel_diff": backward_rel,
                     "ms_custom": ms_custom, "ms_reference": ms_reference,
                     "time_ratio": ms_custom / ms_reference})
    return pd.DataFrame(rows)

"""Custom autograd layers under bf16 autocast, as every GPU, Zen 4 and AMX CPU trains them
(``precision: auto``): each against its ``*Reference`` twin (the same math in built-in
operations, autograd's backward) under the same autocast, both measured against the exact
values (the reference in float64 without autocast).

Tolerance: bf16 keeps 8 significant bits, so one rounding is off by up to 2^-9 of the value
and a chain of a few rounded operations (convolution or product, sum, sigmoid or power) by a
few times that. A custom layer must come within 2^-6 (1.6 %) of the largest exact value of
each tensor, and be no further from the exact values than its built-in twin plus one bf16
step (2^-8): it may compute more precisely than the twin (three of the four compute in
float32 on purpose), never less."""

from __future__ import annotations

import copy

import pytest
import torch

from cnnlab.models.layers import (GatedConv2d, GatedConv2dReference, GeMPool2d, GeMPool2dReference,
                           SqueezeExcite, SqueezeExciteReference, SwishBeta, SwishBetaReference)

BF16_TOLERANCE = 2.0 ** -6
BF16_STEP = 2.0 ** -8



def gated(cls, stride=1):
    """Gates away from their initial 1, so that they scale the convolution."""
    conv = cls(8, 16, 3, stride=stride, padding=1)
    with torch.no_grad():
        conv.gate.uniform_(0.5, 1.5)
    return conv


# custom layer, its reference twin, an input (GeM pools positive activations)
PAIRS = {
    "gated conv": (lambda: gated(GatedConv2d), lambda: gated(GatedConv2dReference),
                   lambda: torch.randn(4, 8, 12, 12)),
    "gated conv, stride 2": (lambda: gated(GatedConv2d, 2),
                             lambda: gated(GatedConv2dReference, 2),
                             lambda: torch.randn(4, 8, 12, 12)),
    "squeeze-excite": (lambda: SqueezeExcite(16, 4), lambda: SqueezeExciteReference(16, 4),
                       lambda: torch.randn(4, 16, 12, 12)),
    "swish-beta": (lambda: SwishBeta(0.8), lambda: SwishBetaReference(0.8),
                   lambda: torch.randn(4, 16, 12, 12)),
    "GeM pooling": (lambda: GeMPool2d(3.0), lambda: GeMPool2dReference(3.0),
                    lambda: torch.rand(4, 16, 12, 12) + 0.01),
}


def forward_backward(module, x, autocast: bool):
    """Output, input gradient and parameter gradients for a fixed output gradient."""
    x = x.clone().requires_grad_()
    with torch.autocast("cpu", torch.bfloat16, enabled=autocast):
        y = module(x)
    y.backward(torch.linspace(-1, 1, y.numel()).reshape(y.shape).to(y.dtype))
    return {"output": y, "input grad": x.grad,
            **{f"{name} grad": p.grad for name, p in module.named_parameters()}}


def relative_error(value: torch.Tensor, exact: torch.Tensor) -> float:
    return ((value.double() - exact).abs().max() / exact.abs().max()).item()


@pytest.mark.parametrize("input_dtype", [torch.float32, torch.bfloat16],
                         ids=["fp32 input", "bf16 input"])
@pytest.mark.parametrize("layer", PAIRS)
def test_custom_layer_under_bf16_autocast_is_as_accurate_as_its_builtin_twin(layer, input_dtype):
    make_custom, make_reference, make_input = PAIRS[layer]
    torch.manual_seed(0)
    custom, reference = make_custom(), make_reference()
    reference.load_state_dict(custom.state_dict())
    x = make_input().to(input_dtype)  # bf16: as it arrives from a convolution under autocast
    exact = forward_backward(copy.deepcopy(reference).double(), x.double(), autocast=False)
    mine = forward_backward(custom, x, autocast=True)
    theirs = forward_backward(reference, x, autocast=True)
    assert mine.keys() == exact.keys()
    for name in exact:
        error, twin_error = relative_error(mine[name], exact[name]), relative_error(theirs[name],
                                                                                    exact[name])
        assert error <= BF16_TOLERANCE, f"{name}: {error:.2e} from the exact value"
        assert error <= twin_error + BF16_STEP, f"{name}: {error:.2e}, twin {twin_error:.2e}"
    # Gradients arrive in the dtype of what they belong to: the input's, float32 parameters'.
    assert mine["input grad"].dtype == input_dtype
    assert all(p.grad.dtype == torch.float32 for p in custom.parameters())


@pytest.mark.parametrize("layer", PAIRS)
def test_custom_function_returns_gradients_in_its_inputs_dtypes(layer):
    """The Function's own backward (called directly: autograd would silently cast what it
    returns) gives each gradient the dtype and shape of its input, under autocast too."""
    make_custom, _, make_input = PAIRS[layer]
    custom = make_custom()
    for dtype in (torch.float32, torch.bfloat16):
        x = make_input().to(dtype).requires_grad_()
        with torch.autocast("cpu", torch.bfloat16):
            y = custom(x)
        grads = y.grad_fn.apply(torch.ones_like(y))
        inputs = [x, *custom.parameters()]
        returned = [g for g in grads if g is not None]
        assert len(returned) == len(inputs)
        for grad, tensor in zip(returned, inputs):
            assert (grad.dtype, grad.shape) == (tensor.dtype, tensor.shape)
        # The gated convolution answers in autocast's dtype like nn.Conv2d; the others keep
        # their input's dtype.
        assert y.dtype == (torch.bfloat16 if "conv" in layer else dtype)

"""Custom autograd layers: gradcheck in float64, equality with the built-in analogue at
the parameter value where they coincide, and edge inputs."""

import pytest
import torch
from torch import nn
from torch.autograd import gradcheck

from cnnlab.models.layers import (GatedConv2d, GatedConv2dFunction, GeMPool2d, GeMPoolFunction,
                           SqueezeExcite, SqueezeExciteFunction, SqueezeExciteReference,
                           SwishBeta, SwishBetaFunction)

torch.manual_seed(0)


def f64(*shape, positive=False):
    x = torch.randn(*shape, dtype=torch.float64)
    return (x.abs() + 0.1 if positive else x).requires_grad_()


# ---------------------------------------------------------------- gradcheck (float64)


def test_gradcheck_gated_conv():
    args = (f64(2, 3, 5, 5), f64(4, 3, 3, 3), f64(4), f64(4))
    assert gradcheck(lambda x, w, b, g: GatedConv2dFunction.apply(x, w, b, g, 1, 1), args)
    assert gradcheck(lambda x, w, b, g: GatedConv2dFunction.apply(x, w, b, g, 2, 0), args)


def test_gradcheck_squeeze_excite():
    assert gradcheck(SqueezeExciteFunction.apply,
                     (f64(2, 6, 4, 4), f64(3, 6), f64(3), f64(6, 3), f64(6)))


def test_gradcheck_swish_beta():
    beta = torch.tensor(0.8, dtype=torch.float64, requires_grad=True)
    assert gradcheck(SwishBetaFunction.apply, (f64(3, 4, 5), beta))


def test_gradcheck_gem():
    p = torch.tensor(2.5, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda x, p: GeMPoolFunction.apply(x, p, 1e-6),
                     (f64(2, 3, 4, 4, positive=True), p))


# ---------------------------------------------------------------- equal to the built-in


def same_values_and_grads(custom: nn.Module, builtin: nn.Module, x: torch.Tensor,
                          shared=("weight", "bias")):
    """Forward values, input gradients and the shared parameters' gradients agree."""
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    y1, y2 = custom(x1), builtin(x2)
    torch.testing.assert_close(y1, y2)
    g = torch.randn_like(y1)
    y1.backward(g)
    y2.backward(g)
    torch.testing.assert_close(x1.grad, x2.grad)
    for name in shared:
        torch.testing.assert_close(custom.get_parameter(name).grad,
                                   builtin.get_parameter(name).grad, msg=name)


def gated_and_conv(stride=1):
    custom = GatedConv2d(3, 8, 3, stride=stride, padding=1)
    builtin = nn.Conv2d(3, 8, 3, stride=stride, padding=1)
    builtin.load_state_dict({k: v for k, v in custom.state_dict().items() if k != "gate"})
    return custom, builtin


def se_pair():
    custom = SqueezeExcite(8, reduction=2)
    reference = SqueezeExciteReference(8, reduction=2)
    reference.load_state_dict(custom.state_dict())
    return custom, reference


EDGE_INPUTS = {
    "batch of one": lambda: torch.randn(1, 3, 8, 8),
    "zeros": lambda: torch.zeros(2, 3, 8, 8),
    "large magnitudes": lambda: torch.randn(2, 3, 8, 8) * 1e3,
    "non-contiguous": lambda: torch.randn(2, 8, 8, 3).permute(0, 3, 1, 2),
    "channels_last": lambda: torch.randn(2, 3, 8, 8).contiguous(memory_format=torch.channels_last),
}


@pytest.mark.parametrize("edge", EDGE_INPUTS)
@pytest.mark.parametrize("stride", [1, 2])
def test_gated_conv_with_unit_gate_is_conv2d(edge, stride):
    custom, builtin = gated_and_conv(stride)
    same_values_and_grads(custom, builtin, EDGE_INPUTS[edge]())


@pytest.mark.parametrize("edge", EDGE_INPUTS)
def test_squeeze_excite_matches_builtin_composition(edge):
    custom, reference = se_pair()
    x = EDGE_INPUTS[edge]().repeat(1, 3, 1, 1)[:, :8]  # 8 channels
    if edge in ("non-contiguous", "channels_last"):  # repeat() made it contiguous again
        x = x.contiguous(memory_format=torch.channels_last)
        if edge == "non-contiguous":
            x = x.transpose(2, 3)
    same_values_and_grads(custom, reference, x, shared=("fc1.weight", "fc1.bias",
                                                         "fc2.weight", "fc2.bias"))


@pytest.mark.parametrize("edge", EDGE_INPUTS)
def test_swish_with_beta_one_is_silu(edge):
    x = EDGE_INPUTS[edge]()
    same_values_and_grads(SwishBeta(1.0), nn.SiLU(), x, shared=())


@pytest.mark.parametrize("edge", EDGE_INPUTS)
def test_gem_with_p_one_is_average_pooling(edge):
    x = EDGE_INPUTS[edge]().abs() + 0.01  # GeM pools positive activations (after ReLU)
    if edge == "zeros":
        x = torch.full((2, 3, 8, 8), 1e-3)
    if edge == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    avg = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    same_values_and_grads(GeMPool2d(p=1.0), avg, x, shared=())


def test_parameter_gradients_of_gate_beta_and_p_match_autograd():
    """The learnable extras (gate, beta, p) against autograd of the same formula."""
    x = torch.rand(2, 3, 6, 6, dtype=torch.float64) + 0.05
    gem = GeMPool2d(2.0).double()
    gem(x).sum().backward()
    p = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    (x.pow(p).mean(dim=(2, 3)).pow(1 / p)).sum().backward()
    torch.testing.assert_close(gem.p.grad, p.grad)

    sw = SwishBeta(0.7).double()
    sw(x).sum().backward()
    beta = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    (x * torch.sigmoid(beta * x)).sum().backward()
    torch.testing.assert_close(sw.beta.grad, beta.grad)


def test_zero_gate_switches_a_channel_off():
    conv = GatedConv2d(3, 4, 3, padding=1)
    with torch.no_grad():
        conv.gate[2] = 0
    y = conv(torch.randn(2, 3, 5, 5))
    assert torch.count_nonzero(y[:, 2]) == 0 and torch.count_nonzero(y[:, 1]) > 0


def test_verification_table_shows_each_layer_equal_to_its_reference():
    """The table the report prints: every hand-written backward passes gradcheck and
    matches autograd through the built-in reference within float32 rounding."""
    from cnnlab.models.verification import verify_layers

    table = verify_layers(repeats=2)
    assert list(table["layer"]) == ["gated convolution", "squeeze-excite",
                                    "Swish-beta (beta 0.8)", "GeM pooling (p 3)"]
    assert table["gradcheck"].all()
    assert (table["max_forward_diff"] < 1e-5).all()
    assert (table["max_backward_rel_diff"] < 1e-5).all()
    assert (table["time_ratio"] > 0).all()


def test_a_wrong_backward_fails_the_verification(monkeypatch):
    """The check has teeth: a Swish-beta backward off by 1% fails gradcheck and shows a
    backward difference."""
    from cnnlab.models.verification import verify_layers

    right = SwishBetaFunction.backward

    def wrong(ctx, grad_out):
        gx, gb = right(ctx, grad_out)
        return gx * 1.01, gb

    monkeypatch.setattr(SwishBetaFunction, "backward", staticmethod(wrong))
    row = verify_layers(repeats=1).set_index("layer").loc["Swish-beta (beta 0.8)"]
    assert not row["gradcheck"] and row["max_backward_rel_diff"] > 1e-3

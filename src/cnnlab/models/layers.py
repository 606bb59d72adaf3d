"""Custom layers, each a ``torch.autograd.Function`` with a hand-written forward and
backward, wrapped in an ``nn.Module``. Each reduces to a built-in layer at one parameter
value (named in its docstring), which is what the tests compare against:

* ``GatedConv2d``  - convolution with a learnable per-output-channel gate (gate = 1:
                     ``nn.Conv2d``);
* ``SqueezeExcite`` - squeeze-and-excitation channel attention (no built-in; compared with
                     the same computation from ``nn.Linear`` and friends);
* ``SwishBeta``    - x * sigmoid(beta * x) with a learnable beta (beta = 1: ``nn.SiLU``);
* ``GeMPool2d``    - generalized-mean pooling with a learnable exponent p
                     (p = 1, positive inputs: ``nn.AdaptiveAvgPool2d(1)``).

Precision. Under autocast (bf16 training) a hand-written Function is not covered by
autocast's op lists as a whole: each decides the dtype it computes in, and its backward
computes in the same dtypes as its forward. The gated convolution computes its convolution
in the autocast dtype, as ``nn.Conv2d`` does (that is where bf16 pays); the other three are
cheap elementwise and pooling maths whose sigmoids, powers and logarithms lose too much in
bf16's 8-bit mantissa, so they compute in float32 (float64 stays float64, for gradcheck)
and return their input's dtype. Every backward returns each gradient in the dtype and
shape of the tensor it belongs to.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.grad import conv2d_input, conv2d_weight


def _autocast_dtype(x: torch.Tensor) -> torch.dtype | None:
    """The low-precision dtype of an enabled autocast region for ``x``'s device, or None
    (also on devices autocast does not know, such as ``meta``, where models are checked)."""
    kind = x.device.type
    if torch.amp.is_autocast_available(kind) and torch.is_autocast_enabled(kind):
        return torch.get_autocast_dtype(kind)
    return None


def _no_autocast(x: torch.Tensor):
    """A region where the ops run in the dtypes they are given: the Function has cast them."""
    if not torch.amp.is_autocast_available(x.device.type):
        return contextlib.nullcontext()
    return torch.autocast(x.device.type, enabled=False)


def _at_least_float32(x: torch.Tensor) -> torch.Tensor:
    return x.to(torch.promote_types(x.dtype, torch.float32))

# --------------------------------------------------------------------------- gated conv


class GatedConv2dFunction(torch.autograd.Function):
    """y = gate[c] * (conv2d(x, w) + b[c])."""

    @staticmethod
    def forward(ctx, x, weight, bias, gate, stride: int, padding: int):
        # The convolution in autocast's dtype when autocast is on (as nn.Conv2d under
        # autocast), else in the inputs' common dtype; the backward's convolutions reuse
        # the cast tensors saved here, so they run in that dtype too.
        dtype = _autocast_dtype(x) or torch.result_type(x, weight)
        xc, wc = x.to(dtype), weight.to(dtype)
        with _no_autocast(x):
            conv = F.conv2d(xc, wc, None if bias is None else bias.to(dtype),
                            stride=stride, padding=padding)
        ctx.save_for_backward(xc, wc, gate, conv)
        ctx.conf = (stride, padding, x.dtype, weight.dtype)
        return conv * gate.to(dtype).view(1, -1, 1, 1)

    @staticmethod
    def backward(ctx, grad_out):
        xc, wc, gate, conv = ctx.saved_tensors
        stride, padding, x_dtype, w_dtype = ctx.conf
        grad_out = grad_out.to(conv.dtype)
        grad_conv = grad_out * gate.to(conv.dtype).view(1, -1, 1, 1)
        grad_x = grad_w = grad_b = grad_gate = None
        if ctx.needs_input_grad[0]:
            grad_x = conv2d_input(xc.shape, wc, grad_conv, stride=stride,
                                  padding=padding).to(x_dtype)
        if ctx.needs_input_grad[1]:
            grad_w = conv2d_weight(xc, wc.shape, grad_conv, stride=stride,
                                   padding=padding).to(w_dtype)
        # The per-channel sums over the batch accumulate in the parameters' dtype (float32):
        # summed in bf16, thousands of terms would round away their small ones.
        if ctx.needs_input_grad[2]:
            grad_b = grad_conv.to(w_dtype).sum(dim=(0, 2, 3))
        if ctx.needs_input_grad[3]:
            grad_gate = (grad_out.to(gate.dtype) * conv.to(gate.dtype)).sum(dim=(0, 2, 3))
        return grad_x, grad_w, grad_b, grad_gate, None, None


class GatedConv2d(nn.Conv2d):
    """``nn.Conv2d`` whose output channels are scaled by learnable gates (initially 1):
    the network can switch channels off smoothly, and a gate of 1 is a plain conv."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 bias=True):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride,
                         padding=padding, bias=bias)
        self.gate = nn.Parameter(torch.ones(out_channels))

    def forward(self, x):
        return GatedConv2dFunction.apply(x, self.weight, self.bias, self.gate,
                                         self.stride[0], self.padding[0])


# --------------------------------------------------------------------------- squeeze-excite


class SqueezeExciteFunction(torch.autograd.Function):
    """y = x * sigmoid(W2 relu(W1 mean_hw(x) + b1) + b2), per sample and channel."""

    @staticmethod
    def forward(ctx, x, w1, b1, w2, b2):
        # In float32 whatever autocast says: the attention is two tiny N x C products and
        # a sigmoid, nothing bf16 would speed up, and bf16 would quantize the gates.
        with _no_autocast(x):
            xf = _at_least_float32(x)
            squeezed = xf.mean(dim=(2, 3))                 # N, C
            hidden_pre = squeezed @ w1.t() + b1            # N, R
            hidden = hidden_pre.clamp_min(0)
            attention = torch.sigmoid(hidden @ w2.t() + b2)  # N, C
            out = (xf * attention[:, :, None, None]).to(x.dtype)
        # x is saved as it came (bf16 under autocast: half the memory) and widened again
        # in the backward.
        ctx.save_for_backward(x, w1, w2, squeezed, hidden_pre, hidden, attention)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, w1, w2, squeezed, hidden_pre, hidden, attention = ctx.saved_tensors
        in_dtype, x = x.dtype, _at_least_float32(x)
        grad_out = grad_out.to(x.dtype)
        grad_attention = (grad_out * x).sum(dim=(2, 3))             # N, C
        grad_logit = grad_attention * attention * (1 - attention)   # through the sigmoid
        grad_w2 = grad_logit.t() @ hidden
        grad_b2 = grad_logit.sum(0)
        grad_hidden_pre = (grad_logit @ w2) * (hidden_pre > 0)      # through the ReLU
        grad_w1 = grad_hidden_pre.t() @ squeezed
        grad_b1 = grad_hidden_pre.sum(0)
        grad_squeezed = grad_hidden_pre @ w1                        # N, C
        hw = x.shape[2] * x.shape[3]
        grad_x = grad_out * attention[:, :, None, None] + (grad_squeezed / hw)[:, :, None, None]
        return grad_x.to(in_dtype), grad_w1, grad_b1, grad_w2, grad_b2


class SqueezeExcite(nn.Module):
    """Channel attention (Hu et al. 2018): each channel is reweighted by a gate computed
    from the global average of all channels through a ``reduction``-fold bottleneck."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x):
        return SqueezeExciteFunction.apply(x, self.fc1.weight, self.fc1.bias,
                                           self.fc2.weight, self.fc2.bias)


class SqueezeExciteReference(SqueezeExcite):
    """The same computation from built-in operations (autograd's own backward): the
    'standard layers' twin of ``SqueezeExcite``."""

    def forward(self, x):
        gate = torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3))))))
        return x * gate[:, :, None, None]


# --------------------------------------------------------------------------- activation


class SwishBetaFunction(torch.autograd.Function):
    """y = x * sigmoid(beta * x)."""

    @staticmethod
    def forward(ctx, x, beta):
        # Elementwise in float32 (returned in x's dtype): cheap, and the sum over every
        # activation that beta's gradient is would lose its small terms in bf16. Only x is
        # saved, as it came; the sigmoid is recomputed in the backward.
        with _no_autocast(x):
            xf = _at_least_float32(x)
            out = (xf * torch.sigmoid(beta * xf)).to(x.dtype)
        ctx.save_for_backward(x, beta)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, beta = ctx.saved_tensors
        in_dtype, x = x.dtype, _at_least_float32(x)
        grad_out = grad_out.to(x.dtype)
        s = torch.sigmoid(beta * x)
        ds = s * (1 - s)                       # sigmoid'(beta x)
        grad_x = grad_out * (s + beta * x * ds)
        grad_beta = (grad_out * x * x * ds).sum().reshape(beta.shape).to(beta.dtype)
        return grad_x.to(in_dtype), grad_beta


class SwishBeta(nn.Module):
    """Swish with a learnable slope (Ramachandran et al. 2017); beta = 1 is SiLU, large
    beta approaches ReLU."""

    def __init__(self, beta: float = 1.0):
        super().__init__()
        self.beta = nn.Parameter(torch.tensor(float(beta)))

    def forward(self, x):
        return SwishBetaFunction.apply(x, self.beta)


# --------------------------------------------------------------------------- pooling


class GeMPoolFunction(torch.autograd.Function):
    """y[n, c] = mean_hw(max(x, eps) ** p) ** (1 / p)."""

    @staticmethod
    def forward(ctx, x, p, eps: float):
        # Powers and logarithms in float32 (returned in x's dtype): in bf16, x ** 3 of
        # activations near eps and the log in p's gradient would lose most of their digits.
        with _no_autocast(x):
            xf = _at_least_float32(x)
            clamped = xf.clamp_min(eps)
            powered = clamped.pow(p)
            mean = powered.mean(dim=(2, 3))
            y = mean.pow(1 / p)
        ctx.save_for_backward(x, p, clamped, powered, mean, y)
        ctx.eps = eps
        return y.to(x.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        x, p, clamped, powered, mean, y = ctx.saved_tensors
        in_dtype = x.dtype
        grad_out = grad_out.to(y.dtype)
        hw = x.shape[2] * x.shape[3]
        # dy/dx = mean^(1/p - 1) * x^(p-1) / HW where x > eps (the clamp passes no gradient)
        scale = (y / mean)[:, :, None, None]                 # mean^(1/p - 1)
        grad_x = grad_out[:, :, None, None] * scale * powered / clamped / hw
        grad_x = grad_x * (x > ctx.eps)
        # dy/dp = y * (-ln(mean) / p^2 + mean(x^p ln x) / (p * mean))
        weighted_log = (powered * clamped.log()).mean(dim=(2, 3))
        dy_dp = y * (-mean.log() / p ** 2 + weighted_log / (p * mean))
        grad_p = (grad_out * dy_dp).sum().reshape(p.shape).to(p.dtype)
        return grad_x.to(in_dtype), grad_p, None


class GeMPool2d(nn.Module):
    """Generalized-mean global pooling (Radenovic et al. 2018): p = 1 is average pooling,
    large p approaches max pooling; p is learned. Returns N x C."""

    def __init__(self, p: float = 3.0, eps: float = 1e-6):
        super().__init__()
        self.p = nn.Parameter(torch.tensor(float(p)))
        self.eps = eps

    def forward(self, x):
        return GeMPoolFunction.apply(x, self.p, self.eps)


# --------------------------------------------------------------------------- references
# The same math as each custom Function, written with built-in operations so that
# autograd derives the backward pass: what the hand-written backward passes are verified
# against (cnnlab.models.verification), at any parameter value, not only where a built-in layer
# coincides.


class GatedConv2dReference(GatedConv2d):
    def forward(self, x):
        return self._conv_forward(x, self.weight, self.bias) * self.gate.view(1, -1, 1, 1)


class SwishBetaReference(SwishBeta):
    def forward(self, x):
        return x * torch.sigmoid(self.beta * x)


class GeMPool2dReference(GeMPool2d):
    def forward(self, x):
        return x.clamp_min(self.eps).pow(self.p).mean(dim=(2, 3)).pow(1 / self.p)

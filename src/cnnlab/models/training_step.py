"""One training step of a model, as a run will take it, on a batch of no data: training
mode, the forward pass counted in FLOPs and in the activations autograd saves for the
backward pass, its output checked to be what the training loop and the evaluation need,
cross-entropy and one backward pass.

The FLOPs only rank the runs (the most expensive start first), so they are those of the
layers that hold nearly all of a CNN's work: every convolution and linear layer (and the
custom layers built on them), counted by forward hooks. PyTorch's ``FlopCounterMode``
counts every operation, but its first use imports ``torch._dynamo`` (1.2 s on a Zen 3 core),
a quarter of a cold start of the workflow.

Why training mode: some models answer differently there (torchvision's ``googlenet`` and
``inception_v3`` return their auxiliary logits beside the logits), and batch norm needs
more than one image per channel. Why the output's shape: cross-entropy takes logits wider
than the number of classes without a word, and the confusion matrix then puts predictions
into cells that do not exist.
"""

from __future__ import annotations

BATCH = 2  # batch norm in training mode refuses a batch of one


class TrainingStepError(ValueError):
    """The model cannot be trained as it is: what it returns is not a tensor of logits of
    shape (batch, classes), or its backward pass fails. The model is to blame, not one of
    its arguments."""


def _returned(out) -> str:
    """What a model returned, in words: its type and, for a tuple or dict, its parts."""
    kind = type(out).__name__
    if isinstance(out, tuple) and hasattr(out, "_fields"):
        return f"a named tuple {kind}({', '.join(out._fields)})"
    if isinstance(out, (tuple, list)):
        return f"a {kind} of {len(out)}"
    if isinstance(out, dict):
        return f"a dict with keys {sorted(map(str, out))}"
    return f"a {kind}"


def output_problem(out, batch: int, classes: int) -> str | None:
    """Why ``out`` (a model's answer to ``batch`` images) is not logits over ``classes``
    classes as training takes them; None where it is."""
    import torch

    if not isinstance(out, torch.Tensor):
        return (f"in training mode it returns {_returned(out)}, not a tensor; cnnlab needs "
                f"one tensor of logits, shape (batch, classes)")
    if tuple(out.shape) != (batch, classes):
        return (f"in training mode its output has shape {tuple(out.shape)} for {batch} "
                f"images; cnnlab needs (batch, classes) = ({batch}, {classes})")
    if not out.dtype.is_floating_point:
        return (f"its output is of dtype {out.dtype}; cnnlab needs floating-point logits")
    return None


def _aux_logits_hint(net) -> str:
    """For torchvision's googlenet and inception_v3 (with their auxiliary classifiers on):
    the argument that makes them return the logits alone in training mode."""
    if type(net).__module__.startswith("torchvision.") and getattr(net, "aux_logits", False):
        return ("; torchvision's aux_logits=False leaves its auxiliary logits out: give "
                "the variant `args: {aux_logits: false}`")
    return ""


class LayerFlops:
    """FLOPs of the convolution and linear layers of ``net`` in the forward passes run
    while the context is open: each output value costs two per weight of its fan-in (input
    channels per group x kernel, or input features). Attention's products, which run
    outside these layers, are not counted."""

    def __init__(self, net):
        import torch.nn as nn

        self.total = 0
        self._layers = [m for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv1d,
                                                                      nn.Conv2d, nn.Conv3d))]

    def _count(self, layer, inputs, out):
        # A subclass may return something else (a tuple): the output check names that.
        if hasattr(out, "numel"):
            self.total += 2 * out.numel() * layer.weight[0].numel()

    def __enter__(self):
        self._hooks = [m.register_forward_hook(self._count) for m in self._layers]
        return self

    def __exit__(self, *exc):
        for hook in self._hooks:
            hook.remove()


class SavedTensors:
    """Every tensor autograd saves for the backward pass while the context is open
    (``saved_tensors_hooks``), each counted once: the activations a training step holds."""

    def __init__(self):
        self.tensors, self._ids = [], set()

    def _pack(self, t):
        if id(t) not in self._ids:  # a tensor saved by two operations is held once
            self._ids.add(id(t))
            self.tensors.append(t)  # kept alive, so that no other tensor reuses its id
        return t

    def __enter__(self):
        import torch

        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda t: t)
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc):
        self._hooks.__exit__(*exc)

    def bytes(self, batch: int) -> tuple[int, int]:
        """(bytes of every saved tensor, bytes of the largest with ``batch`` as its first
        dimension)."""
        sizes = [t.nelement() * t.element_size() for t in self.tensors]
        batched = [n for t, n in zip(self.tensors, sizes) if t.dim() and t.shape[0] == batch]
        return sum(sizes), max(batched, default=0)


def saved_bytes(net, in_shape, batch: int, device) -> tuple[int, int]:
    """``SavedTensors.bytes`` of one training-mode forward pass of ``batch`` images."""
    import torch

    with SavedTensors() as saved:
        net(torch.zeros(batch, *in_shape, device=device))
    return saved.bytes(batch)


def training_step(net, in_shape, classes: int, device) -> dict[str, int]:
    """Run one training step of ``net`` (built on ``device``) on ``BATCH`` images of
    ``in_shape``; return ``flops`` (of one image's forward pass) and ``saved`` and
    ``largest_saved`` (``SavedTensors.bytes`` of the step's forward pass). Raises
    ``TrainingStepError`` for a wrong output or a failing backward pass, and whatever the
    forward pass raises."""
    import torch
    import torch.nn.functional as F

    net.train()
    x = torch.rand(BATCH, *in_shape, device=device)
    labels = torch.zeros(BATCH, dtype=torch.long, device=device)
    with LayerFlops(net) as counter, SavedTensors() as saved:
        out = net(x)
    if problem := output_problem(out, BATCH, classes):
        raise TrainingStepError(problem + _aux_logits_hint(net))
    try:
        # As the training loop computes its loss (loop.Trainer): logits as float32.
        F.cross_entropy(out.float(), labels).backward()
    except Exception as e:  # noqa: BLE001 - any failure is the message
        raise TrainingStepError(f"its backward pass raises {type(e).__name__}: {e}") from e
    total, largest = saved.bytes(BATCH)
    return {"flops": counter.total // BATCH, "saved": total,
            "largest_saved": largest}

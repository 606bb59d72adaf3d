"""What a model holds in memory while it trains, counted in the build check's training step
(``build_check``) on the device it took it on: its parameters, and the activations
autograd keeps for the backward pass. ``plan.memory`` turns these into each job's estimate;
it cannot build models itself (it runs without PyTorch).

The activations are counted, not guessed: every tensor autograd saves in a training-mode
forward pass goes through ``saved_tensors_hooks`` (``training_step.SavedTensors``). The
difference between a batch of 4 and the step's batch of 2 is what two images add, so the
weights (saved too, by every layer) cancel out, and a batch of 2 keeps batch
normalization's training-mode check satisfied."""

from __future__ import annotations


def memory_per_image(net, shape, device, step: dict[str, int]) -> dict[str, int]:
    """``parameters``, ``saved_per_image`` (bytes autograd keeps per image of a training
    batch) and ``largest_per_image`` (bytes of the largest of them, one image) of ``net``
    at image ``shape``, in fp32; ``step``: what ``training_step`` counted in its forward
    pass of 2 images (``saved``, ``largest_saved``). One more forward pass, of 4 images."""
    from cnnlab.models.registry import count_parameters
    from cnnlab.models.training_step import BATCH, saved_bytes

    four, largest_four = saved_bytes(net, shape, 2 * BATCH, device)
    two, largest_two = step["saved"], step["largest_saved"]
    return {"parameters": count_parameters(net),
            "saved_per_image": max(0, (four - two) // BATCH),
            "largest_per_image": max(largest_two // BATCH, largest_four // (2 * BATCH))}

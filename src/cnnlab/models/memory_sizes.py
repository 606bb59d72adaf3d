"""What each model of the config holds in memory while it trains, counted before any job on
PyTorch's ``meta`` device (shapes only): its parameters, and the activations autograd keeps
for the backward pass. ``plan.memory`` turns these into each job's estimate; it cannot
build models itself (it runs without PyTorch).

The activations are counted, not guessed: every tensor autograd saves in a training-mode
forward pass goes through ``saved_tensors_hooks``. The difference between a batch of 4 and
a batch of 2 is what two images add, so the weights (saved too, by every layer) cancel out,
and a batch of 2 keeps batch normalization's training-mode check satisfied."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cnnlab.code_digest import library_digest
from cnnlab.data.catalog import DATASETS
from cnnlab.files import read_json_cache, write_json_cache
from cnnlab.models.build_check import model_key, on_meta_else_cpu


def _saved_activations(net, shape, batch: int, device: str) -> tuple[int, int]:
    """(bytes of every tensor autograd saves, bytes of the largest with the batch as its
    first dimension) for one training-mode forward pass of ``batch`` images on ``device``."""
    import torch

    saved, seen = [], set()

    def pack(t):
        if id(t) not in seen:  # a tensor saved by two operations is held once
            seen.add(id(t))
            saved.append(t)  # kept alive, so that no other tensor reuses its id
        return t

    x = torch.zeros(batch, *shape, device=device)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        net(x)
    sizes = [t.nelement() * t.element_size() for t in saved]
    batched = [n for t, n in zip(saved, sizes) if t.dim() and t.shape[0] == batch]
    return sum(sizes), max(batched, default=0)


def model_memory(spec: dict) -> dict[str, int]:
    """``parameters``, ``saved_per_image`` (bytes autograd keeps per image of a training
    batch) and ``largest_per_image`` (bytes of the largest of them, one image) of the model
    of ``spec``, at its dataset's image shape, in fp32."""
    # A model that reads its values is counted on the CPU, as the build check runs it.
    return on_meta_else_cpu(lambda device: _count(spec, device))


def _count(spec: dict, device: str) -> dict[str, int]:
    import torch

    from cnnlab.models.registry import build_for_spec, count_parameters

    info = DATASETS[spec["dataset"]]
    with torch.device(device):
        net = build_for_spec(spec, info.shape, len(info.classes))
    net.train()
    two, largest_two = _saved_activations(net, info.shape, 2, device)
    four, largest_four = _saved_activations(net, info.shape, 4, device)
    return {"parameters": count_parameters(net),
            "saved_per_image": max(0, (four - two) // 2),
            "largest_per_image": max(largest_two // 2, largest_four // 4)}


def checked_model_memory(runs: dict[str, dict], cache_dir: Path) -> dict[str, dict[str, int]]:
    """``{run: model_memory}`` for ``runs``, each distinct model counted once and the
    answer kept in ``cache_dir`` (keyed as the build check's, ``build_check.model_key``): a
    rerun with no new model does not import PyTorch. Run after the build check, which
    reports a model that cannot be built."""
    keys = {path: model_key(spec) for path, spec in runs.items()}
    digest = hashlib.sha256(json.dumps(sorted(set(keys.values()))).encode())
    digest.update(library_digest("cnnlab.models.registry", "cnnlab.models.memory_sizes").encode())
    cached = Path(cache_dir) / f"memory-{digest.hexdigest()[:16]}.json"
    known = read_json_cache(cached)
    if not (isinstance(known, dict) and set(known) == set(keys.values())):
        first = {key: path for path, key in reversed(list(keys.items()))}
        known = {key: model_memory(runs[path]) for key, path in first.items()}
        write_json_cache(cached, known)
    return {path: known[key] for path, key in keys.items()}

"""Check every model the config declares before any job starts, as it will train: built,
in training mode, one batch of two images of the dataset's shape through it, its output a
floating tensor of shape (batch, classes), one backward pass (``training_step``); and count
what it costs: FLOPs of one image, parameters and the activations it keeps for training
(``memory_sizes``), all from the one step.

A small model on small images (the built-in ones on MNIST or CIFAR-10) takes the step on
the CPU, on a real batch of two; any other on PyTorch's ``meta`` device (shapes only, no
memory, no arithmetic), where a ResNet on 224x224 images is checked in a fraction of a
second. The CPU is chosen where it is cheap because the meta device runs each operation's
shape rules in Python: for the 34 models of the built-in config a step there takes two to
three times as long (benchmarks/dag.py times the cold start). A model that reads its
tensors' values (an ``.item()``, a branch on data) cannot run on meta; it takes the step
on the CPU instead.

A model argument of the right name but a wrong value (``hidden: "abc"``, a kernel too
large for the image), a model that cannot take the dataset's channels, one that returns a
tuple in training mode (torchvision's ``googlenet``) or logits wider than the classes pass
the schema and the name check; without this they would fail inside a training job, after
data preparation and possibly hours of other runs, or not at all. The same forward pass
counts each model's floating-point operations, from which the workflow estimates each
run's cost and starts the most expensive runs first.
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path

from cnnlab.code_digest import library_digest
from cnnlab.data.catalog import DATASETS
from cnnlab.files import read_json_cache, write_json_cache
from cnnlab.models.user_models import TORCHVISION, ModelSourceError

# The library code the check runs (its own steps, the built-in models, the probes), and the
# packages whose code builds a ``torchvision.<name>`` model: a change to either re-checks.
CHECK_CODE = ("cnnlab.models.build_check", "cnnlab.models.registry", "cnnlab.models.probes",
              "cnnlab.models.training_step", "cnnlab.models.memory_sizes")
# At most this many parameters and pixels per image, a model's step runs on the CPU: its
# weights, gradients and a batch of two take a few tens of MB and milliseconds there.
CPU_PARAMETERS = 5_000_000
CPU_PIXELS = 64 * 64
MODEL_PACKAGES = ("torch", "torchvision")


def model_key(spec: dict) -> str:
    """What the check of a model depends on: the dataset (its name, which the problems
    name, its image shape and number of classes: an image folder's ``channels`` or
    ``image_size`` changes it), the model's name and arguments, and the code of a model
    from the user's own file."""
    info = DATASETS[spec["dataset"]]
    return json.dumps([spec["dataset"], list(info.shape), len(info.classes), spec["model"],
                       spec["model_args"], spec.get("model_source")], sort_keys=True)


def on_meta_else_cpu(work, cpu_first=False):
    """``work(device)`` on the meta device (shapes only, no memory), or on the CPU where the
    meta device cannot run it: a model that reads its values (``.item()``, a branch on
    data) raises there. Anything else raises as it would on the CPU. ``cpu_first``: straight
    on the CPU (a small model, where that is faster)."""
    import torch

    try:
        if not cpu_first:
            return work("meta")
    except Exception as e:  # noqa: BLE001 - only what the meta device cannot do is retried
        # Meta tensors have no values: ".item() cannot be called on meta tensors", "Cannot
        # copy out of meta tensor". Anything else fails on the CPU alike.
        if "meta" not in str(e).lower():
            raise
    with torch.random.fork_rng(devices=[]):  # the check leaves the caller's seed alone
        return work("cpu")


def _build(spec: dict, args: dict):
    """The model of ``spec`` with ``args`` after one training step (``training_step``), on
    the CPU for a small model on small images, else on the meta device (on the CPU where the
    meta device cannot run it), and what it costs (``model_facts``); raises whatever
    building or the step raises."""
    import math

    import torch

    from cnnlab.models.memory_sizes import memory_per_image
    from cnnlab.models.registry import build_for_spec, count_parameters
    from cnnlab.models.training_step import training_step

    info = DATASETS[spec["dataset"]]
    spec = {**spec, "model_args": args}

    def step(device):
        with torch.device(device):
            net = build_for_spec(spec, info.shape, len(info.classes))
        costs = training_step(net, info.shape, len(info.classes), device)
        return net, {"flops": costs["flops"],
                     **memory_per_image(net, info.shape, device, costs)}

    def small():
        if math.prod(info.shape[1:]) > CPU_PIXELS:
            return False
        try:
            with torch.device("meta"):  # counted without memory: no weights are made
                net = build_for_spec(spec, info.shape, len(info.classes))
            # A lazy layer (nn.LazyLinear) has no size before its first forward pass.
            return count_parameters(net) <= CPU_PARAMETERS
        except Exception:  # noqa: BLE001 - the step itself says what is wrong
            return False

    return on_meta_else_cpu(step, cpu_first=small())


def model_facts(spec: dict) -> dict[str, int]:
    """What the model of ``spec`` costs, from one training step: ``flops`` of one image's
    forward pass, and ``parameters``, ``saved_per_image`` and ``largest_per_image``
    (``memory_sizes.memory_per_image``)."""
    return _build(spec, spec["model_args"])[1]


def _build_and_count(spec: dict, args: dict) -> dict[str, int]:
    return _build(spec, args)[1]


def _describe(spec: dict) -> str:
    return (f"studies.{spec['study']}.datasets.{spec['dataset']}, variant "
            f"{spec['variant']!r} (model {spec['model']})")


def _culprits(spec: dict, required: dict | None = None) -> list[str]:
    """The arguments that fail on their own (each with the others at their defaults, and
    with the arguments the builder requires, ``required``, which fail together if alone)."""
    required = required or {}
    bad = []
    if required:
        try:
            _build_and_count(spec, required)
        except Exception as e:  # noqa: BLE001 - any failure is the message
            given = ", ".join(f"{k}={v!r}" for k, v in required.items())
            return [f"argument(s) {given} (required): {type(e).__name__}: {e}"]
    for key, value in spec["model_args"].items():
        if key in required:
            continue
        try:
            _build_and_count(spec, {**required, key: value})
        except Exception as e:  # noqa: BLE001 - any failure is the message
            bad.append(f"argument {key}={value!r}: {type(e).__name__}: {e}")
    return bad


def check_models(runs: dict[str, dict], probes: dict[str, list[str]] | None = None
                 ) -> tuple[dict[str, dict[str, int]], list[str]]:
    """``({model key: model_facts}, [problems])`` for the distinct models of
    ``runs``; each problem names study, dataset, variant, argument and value. ``probes``:
    the probe figures each study asks for (``{study: [kind, ...]}``); a model the probes
    cannot look inside is a problem naming the variant and the probes."""
    from cnnlab.models.probes import probe_problem
    from cnnlab.models.registry import torchvision_problem
    from cnnlab.models.training_step import TrainingStepError

    probes = probes or {}
    facts, problems, seen = {}, [], set()
    for spec in runs.values():
        key = model_key(spec)
        probed = probes.get(spec["study"])
        if (key, bool(probed)) in seen or (key, True) in seen:
            continue
        seen.add((key, bool(probed)))
        if spec["model"].startswith(TORCHVISION) and (why := torchvision_problem(spec["model"])):
            problems.append(f"{_describe(spec)}: {why}")
            continue
        try:
            net, facts[key] = _build(spec, spec["model_args"])
            if probed and (why := probe_problem(net)):
                problems.append(f"{_describe(spec)}: study {spec['study']!r} asks for probes "
                                f"{', '.join(probed)}, but {why}; leave the variant out of "
                                f"that study or the probes out of its `probes:`")
        except ModelSourceError as e:  # the user's file itself: its own message
            problems.append(f"{_describe(spec)}: {e}")
        except TrainingStepError as e:  # the model itself, whatever its arguments
            problems.append(f"{_describe(spec)}{_built_by(spec)} cannot be trained on "
                            f"{spec['dataset']}: {e}")
        except Exception as e:  # noqa: BLE001
            problems.append(_build_problem(spec, e))
    return facts, problems


def _built_by(spec: dict) -> str:
    """Where a user's model comes from, for a message: its file."""
    source = spec.get("model_source")
    return f", built by {source['file']}," if source else ""


def _build_problem(spec: dict, error: Exception) -> str:
    """Why ``spec``'s model cannot be built: the arguments that fail on their own, or, for
    a user's builder that raises with its defaults as well, the builder itself (where it
    raised): no argument is to blame for that."""
    shape = "x".join(map(str, DATASETS[spec["dataset"]].shape))
    where = f"{_describe(spec)} cannot be built for {spec['dataset']}'s {shape} images"
    required = _required(spec)
    # Only a builder that needs nothing from config can be shown to raise on its own.
    if "model_source" in spec and not required and (raised := _raises_anyway(spec)):
        return f"{where}: {raised}" + (", with its default arguments as well, so no "
                                       "argument is to blame" if spec["model_args"] else "")
    culprits = _culprits(spec, required)
    why = "; ".join(culprits) or f"args {spec['model_args']}: {type(error).__name__}: {error}"
    return f"{where}: {why}"


def _required(spec: dict) -> dict:
    """The arguments of ``spec`` its (imported) builder has no default for."""
    import inspect

    from cnnlab.models.arguments import DATA_ARGS
    from cnnlab.models.registry import MODELS

    builder = MODELS.get(spec["model"])
    if builder is None:
        return {}
    params = inspect.signature(builder).parameters.values()
    required = {p.name for p in params if p.default is p.empty and p.name not in DATA_ARGS}
    return {k: v for k, v in spec["model_args"].items() if k in required}


def _raises_anyway(spec: dict) -> str | None:
    """How a user's builder fails with no argument from config (all its defaults), naming
    the line of the user's folder it raised at; None where that builds."""
    import traceback

    try:
        _build_and_count(spec, {})
        return None
    except Exception as e:  # noqa: BLE001 - any failure is the message
        folder = Path(spec["model_source"]["file"]).resolve().parent
        frames = [f for f in traceback.extract_tb(e.__traceback__)
                  if Path(f.filename).resolve().parent == folder]
        at = f" at {frames[-1].filename} line {frames[-1].lineno}" if frames else ""
        return (f"its builder {spec['model']!r} ({spec['model_source']['file']}) raises "
                f"{type(e).__name__}: {e}{at}")


def checked_models(runs: dict[str, dict], cache_dir: Path,
                   probes: dict[str, list[str]] | None = None) -> dict[str, dict[str, int]]:
    """``check_models`` with its answer (``{model key: model_facts}``) kept in
    ``cache_dir``, keyed by the models declared
    (``model_key``: with their datasets' shapes and classes), the probes asked for, the
    meaning of the check's and the models' code (``library_digest``) and the versions of
    PyTorch and torchvision: a rerun with nothing new neither imports PyTorch nor builds
    anything. Raises ``ValueError`` listing every problem at once."""
    keys = sorted({model_key(s) for s in runs.values()})
    versions = {name: _version(name) for name in MODEL_PACKAGES}
    digest = hashlib.sha256(json.dumps([keys, probes or {}, versions], sort_keys=True).encode())
    digest.update(library_digest(*CHECK_CODE).encode())
    cached = Path(cache_dir) / f"models-{digest.hexdigest()[:16]}.json"
    # An unreadable cache (truncated by a kill mid-write of an older version) is rebuilt.
    known = read_json_cache(cached)
    if isinstance(known, dict) and set(known) == set(keys):
        return known
    facts, problems = check_models(runs, probes)
    if problems:
        raise ValueError("models that cannot be built:\n  " + "\n  ".join(problems))
    write_json_cache(cached, facts)
    return facts


def per_run(runs: dict[str, dict], facts: dict[str, dict]) -> dict[str, dict[str, int]]:
    """``{run: model_facts}``: each run's model's facts."""
    return {path: facts[model_key(spec)] for path, spec in runs.items()}


def _version(package: str) -> str | None:
    """``package``'s installed version, read without importing it."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def run_costs(runs: dict[str, dict], facts: dict[str, dict]) -> dict[str, float]:
    """Each run's estimated training cost: forward FLOPs per image (``facts``: of
    ``checked_models``) x training images x epochs (the backward pass is about twice the
    forward for every model alike)."""
    costs = {}
    for path, spec in runs.items():
        images = spec["data"]["train_size"] or DATASETS[spec["dataset"]].train_images
        flops = facts.get(model_key(spec), {}).get("flops", 0)
        costs[path] = flops * images * spec["training"]["epochs"]
    return costs


def priorities(costs: dict[str, float]) -> dict[str, int]:
    """Snakemake priorities: the rank of each run's cost (the most expensive highest)."""
    return {path: rank for rank, path in enumerate(sorted(costs, key=costs.get))}

"""How much memory one training job needs, estimated from the config before any job starts,
and which runs will not fit the machine (its memory, or its GPU's) with the setting that
would make them fit. Without PyTorch: each model's parameters and activations come counted
(``models.memory_sizes``); everything else follows from the dataset's shape and the run's
sizes.

What a job holds at its peak (the runs of a job train one after the other, so a job's peak
is its largest run's):

- ``dataset``: the prepared dataset, both splits whole (the job loads it once, for all its
  runs), uint8, with int64 labels;
- ``subsets``: the run's own copies of its train subset (what the validation split
  leaves, at most), of its validation and test subsets, of as many training images for the
  train accuracy as the test subset has, and of the learning curve's validation images;
- ``model``: weights, gradients, the optimizer's state (SGD momentum: one copy, AdamW: two)
  and one more copy for the checkpoint being written, all fp32;
- ``activations``: the larger of a training step's and an evaluation batch's. A training
  step holds what autograd saves for its batch (counted exactly, fp32; bf16 halves it), the
  batch as float through augmentation (``AUGMENT_COPIES``) and, during the backward pass,
  the gradients of the largest activation and its input; an evaluation batch holds an
  operation's input and output at once, at the largest activation.

On the CPU the job holds all of it; on a GPU, the GPU holds the subsets, model and
activations, and the machine the dataset and subsets. Plus a fixed ``PROCESS`` (Python and
libtorch) and ``CUDA_CONTEXT``. Not counted: allocator caching and fragmentation, cuDNN's
workspaces beyond the context's; so it is an estimate to within tens of percent, meant to
catch a run that cannot fit (a 224-pixel folder of 50,000 images: 7.5 GB as uint8 twice),
not to pack jobs tightly."""

from __future__ import annotations

import math

from cnnlab.data.catalog import DATASETS
from cnnlab.plan.config import ConfigError, image_size, split_images

GB = 1e9
FLOAT = 4  # bytes of an fp32 value
LABEL = 8  # bytes of an int64 label
# The batch as float: indexed and normalized, flipped, padded, cropped, made channels_last.
AUGMENT_COPIES = 6
# Measured against the counted activations (peak resident memory of a ResNet's training
# step and evaluation batch at 32 and 96 pixels, fp32 CPU; checked at 128 too,
# docs/data.md): a training step peaks at 1.2-1.5x what autograd saves (the backward
# pass's gradients, oneDNN's reorders), an evaluation batch at up to 5 of its largest
# activation alive at once.
SAVED_FACTOR = 1.5
EVAL_LARGEST = 5
# A training process before any data: Python, NumPy and libtorch (0.66 GB resident
# measured, torch 2.14 on a CPU).
PROCESS = int(0.7 * GB)
CUDA_CONTEXT = int(0.5 * GB)  # the CUDA context and its libraries' workspaces on the GPU
# The smallest values a fitting setting may take (train_size: a batch, check_runs).
SMALLEST = {"batch_size": 1, "eval_batch_size": 1, "image_size": 8}


def job_memory(spec: dict, model: dict[str, int], **change) -> dict[str, int]:
    """The bytes of each part of ``spec``'s job (module docstring) for ``model``
    (``models.build_check.model_facts``, counted at the dataset's image shape);
    ``change``: other values of ``train_size``, ``batch_size``, ``eval_batch_size`` or
    ``image_size`` (a side, or [H, W]; activations scale with the pixels)."""
    t, d = spec["training"], spec["data"]
    shape = DATASETS[spec["dataset"]].shape
    splits = split_images(spec["dataset"], d["synthetic"])
    knobs = {"train_size": d["train_size"], "batch_size": t["batch_size"],
             "eval_batch_size": t["eval_batch_size"], "image_size": list(shape[1:]), **change}
    height, width = image_size(knobs["image_size"])
    pixels = height * width / (shape[1] * shape[2])  # relative to the counted shape's
    image = shape[0] * height * width
    rest = splits["train"] - d["validation_size"]  # what the validation split leaves
    train = min(knobs["train_size"] or rest, rest)
    test = min(d["test_size"] or splits["test"], splits["test"])
    optimizer_copies = 2 if t["optimizer"] == "adamw" else int(t["momentum"] > 0)
    saved, largest = model["saved_per_image"] * pixels, model["largest_per_image"] * pixels
    batch, evaluated = knobs["batch_size"], knobs["eval_batch_size"]
    training = batch * (SAVED_FACTOR * saved + AUGMENT_COPIES * image * FLOAT + 2 * largest)
    evaluation = evaluated * (EVAL_LARGEST * largest + 3 * image * FLOAT)
    return {"dataset": (splits["train"] + splits["test"]) * (image + LABEL),
            "subsets": (train + 2 * test + d["validation_size"] + t["curve_size"])
            * (image + LABEL),
            "model": model["parameters"] * FLOAT * (3 + optimizer_copies),
            "activations": int(max(training, evaluation))}


def needs(parts: dict[str, int], on_gpu: bool) -> dict[str, int]:
    """``{"memory": bytes of the machine, "gpu": bytes of the GPU}`` a job of ``parts``
    needs (no "gpu" when it trains on the CPU)."""
    if not on_gpu:
        return {"memory": PROCESS + sum(parts.values())}
    return {"memory": PROCESS + parts["dataset"] + parts["subsets"],
            "gpu": CUDA_CONTEXT + parts["subsets"] + parts["model"] + parts["activations"]}


def memory_problems(runs: dict[str, dict], models: dict[str, dict],
                    available: dict[str, int | None], scale: str,
                    folders=(), jobs_per_gpu: int = 1) -> list[str]:
    """One line per variant of ``runs`` whose job would not fit: its estimate, the memory
    there is and the settings that would make it fit. ``models``: ``{run: model_facts}``;
    ``available``: bytes of the machine's memory (``"memory"``; None: unknown) and of its
    smallest GPU (``"gpu"``; None: no GPU, every run trains on the CPU), that GPU shared by
    ``jobs_per_gpu`` jobs; ``folders``: the image folders, whose ``image_size`` may be a
    fitting setting. Each job is checked alone: jobs side by side share the machine
    (Snakemake's ``--resources mem_mb=`` can limit them)."""
    whole_gpu = available.get("gpu")
    budget = {**available, "gpu": None if whole_gpu is None else whole_gpu // jobs_per_gpu}
    problems = {}
    for path, spec in runs.items():
        where = (f"studies.{spec['study']}.datasets.{spec['dataset']}, variant "
                 f"{spec['variant']!r}")
        if where in problems:
            continue  # the seeds of a variant need the same
        on_gpu = whole_gpu is not None and spec["training"]["device"] != "cpu"

        def fits(budget=budget, **change):
            need = needs(job_memory(spec, models[path], **change), on_gpu)
            return all(need[k] <= budget[k] for k in need if budget.get(k) is not None)

        if fits():
            continue
        parts = job_memory(spec, models[path])
        need = needs(parts, on_gpu)
        short = [k for k in need if budget.get(k) is not None and need[k] > budget[k]]
        problems[where] = (
            f"{where}: a training job needs about "
            + " and ".join(_amount(k, need[k]) for k in short)
            + f" ({', '.join(f'{k} {v / GB:.1f} GB' for k, v in parts.items())}), more "
            f"than the {' and '.join(_amount(k, budget[k], jobs_per_gpu) for k in short)} "
            f"there is; " + _fitting(spec, fits, scale, folders))
        if jobs_per_gpu > 1 and on_gpu and fits({**budget, "gpu": whole_gpu}):
            problems[where] += ", or jobs_per_gpu: 1 (a whole GPU per job)"
    return list(problems.values())


def _amount(kind: str, value: int, jobs_per_gpu: int = 1) -> str:
    if kind == "memory":
        return f"{value / GB:.1f} GB of memory"
    shared = f" (a GPU's share at jobs_per_gpu: {jobs_per_gpu})" if jobs_per_gpu > 1 else ""
    return f"{value / GB:.1f} GB of GPU memory{shared}"


def _fitting(spec: dict, fits, scale: str, folders) -> str:
    """The settings, each changed alone, with which the job would fit."""
    t, d, ds = spec["training"], spec["data"], spec["dataset"]
    shape = DATASETS[ds].shape
    train = min(d["train_size"] or math.inf, split_images(ds, d["synthetic"])["train"])
    settings = {
        "train_size": (f"scales.{scale}.datasets.{ds}.train_size", train),
        "batch_size": ("training.batch_size", t["batch_size"]),
        "eval_batch_size": ("training.eval_batch_size", t["eval_batch_size"]),
    }
    if ds in folders:
        settings["image_size"] = (f"datasets.{ds}.image_size", max(shape[1:]))
    smallest = {**SMALLEST, "train_size": t["batch_size"]}
    found = []
    for knob, (key, now) in settings.items():
        value = _largest_fitting(smallest[knob], now - 1,
                                 lambda v: fits(**{knob: _as(knob, v, shape)}))
        if value is not None:
            found.append(f"{key}: {_as(knob, value, shape)}")
    if not found:
        return "no one setting makes it fit"
    return "it would fit with " + ", or ".join(found)


def _as(knob: str, value: int, shape):
    """A side of ``image_size`` as the config's value: a side, or [H, W] keeping the aspect."""
    if knob != "image_size" or shape[1] == shape[2]:
        return value
    factor = value / max(shape[1:])
    return [max(1, int(shape[1] * factor)), max(1, int(shape[2] * factor))]


def _largest_fitting(low: int, high: int, fits) -> int | None:
    """The largest value in [low, high] that ``fits`` (which holds for all values below
    one that does), or None."""
    if high < low or not fits(low):
        return None
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(middle) else (low, middle - 1)
    return low


def check_memory(runs, models, available, scale, folders=(), jobs_per_gpu=1) -> None:
    """``memory_problems`` as one ``ConfigError`` listing every variant that will not fit."""
    if problems := memory_problems(runs, models, available, scale, folders, jobs_per_gpu):
        raise ConfigError("runs that will not fit in memory:\n  " + "\n  ".join(problems))

"""Turn ``config.yaml`` into runs, and check what a schema cannot (names that refer to models,
datasets and scales) before any job starts.

A run is one (study, dataset, variant, seed). Its *spec* is a plain dict holding everything
that determines its result; the workflow passes it to the training job as a parameter, so a
changed spec reruns exactly the runs it touches.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
from pathlib import Path

from cnnlab.data.catalog import (BUILTIN, DATASETS, SYNTHETIC_TEST_IMAGES, SYNTHETIC_TRAIN_IMAGES,
                                 DatasetInfo, register_dataset)
from cnnlab.data.image_folder import FolderError, list_folder
from cnnlab.models.arguments import check_model_args
from cnnlab.models.user_models import ModelSourceError, user_models

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"
RESULTS = "results"
# Where jobs on one machine record which GPU each of them holds (cnnlab.training.gpus).
GPU_LOCKS = f"{RESULTS}/.gpu-locks"


class ConfigError(ValueError):
    """Bad configuration; the message names the offending key."""


def image_size(value) -> tuple[int, int]:
    """``image_size: 32`` or ``[height, width]``."""
    return (value, value) if isinstance(value, int) else (value[0], value[1])


def folder_shape(ddef: dict) -> dict:
    """What an image folder's prepared arrays depend on besides its content (its listing's
    digest): the size and channels images are converted to."""
    return {"image_size": ddef["image_size"], "channels": ddef["channels"]}


def folder_info(name: str, ddef: dict, listing) -> DatasetInfo:
    """The catalog entry of image folder ``name`` (config ``datasets.<name>``), listed."""
    return DatasetInfo(name, (ddef["channels"], *image_size(ddef["image_size"])),
                       listing.classes, len(listing.train), len(listing.test))


def folder_datasets(config: dict, cache_dir=None) -> dict:
    """The config's image-folder datasets (``datasets.<name>.folder``), listed and checked
    (``data.image_folder.list_folder``) and added to the catalog; ``{name: listing}``. A
    folder that cannot be a dataset is a ``ConfigError`` naming the folder, class or file."""
    found = {}
    for name, ddef in (config.get("datasets") or {}).items():
        if "folder" not in ddef:
            continue
        where = f"datasets.{name}"
        _check_name(where, name)
        if name in BUILTIN:
            raise ConfigError(f"{where}: {name!r} is a built-in dataset; name your folder "
                              f"otherwise")
        try:
            listing = list_folder(ddef["folder"], ddef.get("test_fraction"),
                                  ddef.get("split_seed", 0), where, cache_dir)
        except FolderError as e:
            raise ConfigError(str(e)) from None
        register_dataset(folder_info(name, ddef, listing))
        found[name] = listing
    return found


def uses_synthetic(config: dict, dataset: str) -> bool:
    """Whether runs on ``dataset`` use synthetic data at this scale: a scale's ``synthetic``
    applies to the built-in datasets; an image folder is always itself."""
    folder = "folder" in ((config.get("datasets") or {}).get(dataset) or {})
    return scale_settings(config)["synthetic"] and not folder


def model_catalog(config: dict) -> dict:
    """The models of the config's ``models_from`` files, by name (``user_models.UserModel``),
    read without importing them; a file that cannot be used is a ``ConfigError``."""
    try:
        return user_models(list(config.get("models_from") or []))
    except ModelSourceError as e:
        raise ConfigError(str(e)) from None


def _user_arguments(catalog: dict) -> dict[str, tuple[str, ...]]:
    return {name: model.arguments for name, model in catalog.items()}


def scale_settings(config: dict) -> dict:
    scale = config["scale"]
    if scale not in config["scales"]:
        raise ConfigError(f"scale: {scale!r} is not defined; allowed: {sorted(config['scales'])}")
    return config["scales"][scale]


def expand_sweeps(config: dict) -> dict:
    """A copy of ``config`` in which every variant with a ``sweep`` grid is replaced by one
    variant per grid point. A point is an ordinary variant: its name and label say the
    values (``resnet-lr0.2``, "Residual CNN, lr=0.2"), its values go to ``training`` or
    ``args`` by key, and ``sweep`` keeps them for the report's sweep figure. Each point's
    spec is independent of the others, so adding a value to a grid trains only that point."""
    out = copy.deepcopy(config)
    user = _user_arguments(model_catalog(config))
    for study, sdef in out["studies"].items():
        for ds, ddef in sdef["datasets"].items():
            variants = []
            for i, var in enumerate(ddef["variants"]):
                if "sweep" not in var:
                    variants.append(var)
                    continue
                where = f"studies.{study}.datasets.{ds}.variants[{i}] ({var['name']}).sweep"
                variants += _sweep_points(var, set(config["training"]), where, user)
            ddef["variants"] = variants
    return out


def _sweep_points(var: dict, training_keys: set[str], where: str,
                  user: dict[str, tuple[str, ...]]) -> list[dict]:
    grid = var["sweep"]
    for key in grid:
        if key == "epochs":
            raise ConfigError(f"{where}.{key}: epochs come from the scale; sweep another key")
        if key not in training_keys:
            try:
                check_model_args(var["model"], {key: None}, user)
            except ValueError as e:
                raise ConfigError(f"{where}.{key}: neither a training setting nor a model "
                                  f"argument ({e})") from None
    for scale_name, here in var.get("at_scale", {}).items():
        for part in ("args", "training"):
            for key in sorted(set(grid) & set(here.get(part, {}))):
                raise ConfigError(
                    f"{where}.{key} and at_scale.{scale_name}.{part}.{key} clash: at scale "
                    f"{scale_name!r} the at_scale value would replace every swept value, so "
                    f"every grid point would be the same run; sweep it or set it at a scale")
    keys = sorted(grid)  # sorted: reordering the grid in config.yaml renames nothing
    points = []
    for values in itertools.product(*(grid[k] for k in keys)):
        point = copy.deepcopy({k: v for k, v in var.items() if k != "sweep"})
        setting = dict(zip(keys, values))
        for key, value in setting.items():
            part = "training" if key in training_keys else "args"
            point[part] = {**point.get(part, {}), key: value}
        point["name"] = "-".join([var["name"], *(f"{k}{_value_text(v)}"
                                                 for k, v in setting.items())])
        point["label"] = ", ".join([var.get("label", var["name"]),
                                    *(f"{k}={v}" for k, v in setting.items())])
        point["sweep"] = {"base": var["name"], "base_label": var.get("label", var["name"]),
                          "values": setting}
        points.append(point)
    return points


def _value_text(value) -> str:
    """A value as it reads in a name: 0.2 -> 0.2, [16, 32] -> 16x32, True -> true."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "x".join(_value_text(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", str(value))


def check_config(config: dict) -> None:
    """Semantic checks on a config that already passed the JSON schema."""
    scale = scale_settings(config)
    user = _user_arguments(model_catalog(config))
    for ds in scale.get("datasets", {}):
        if ds not in DATASETS:
            raise ConfigError(f"scales.{config['scale']}.datasets.{ds}: unknown dataset; "
                              f"allowed: {sorted(DATASETS)}")
    for study, sdef in config["studies"].items():
        _check_name(f"studies.{study}", study)
        for ds, ddef in sdef["datasets"].items():
            where = f"studies.{study}.datasets.{ds}"
            for scale_name in ddef.get("at_scale", {}):
                if scale_name not in config["scales"]:
                    raise ConfigError(f"{where}.at_scale.{scale_name}: unknown scale; "
                                      f"allowed: {sorted(config['scales'])}")
            if ds not in DATASETS:
                raise ConfigError(f"{where}: unknown dataset; allowed: {sorted(DATASETS)}")
            if ds not in scale.get("datasets", {}) and "other_datasets" not in scale:
                raise ConfigError(f"{where}: scale {config['scale']!r} sets no sizes for "
                                  f"dataset {ds!r} (add scales.{config['scale']}.datasets.{ds}, "
                                  f"or scales.{config['scale']}.other_datasets)")
            seen = set()
            for i, var in enumerate(ddef["variants"]):
                name = var["name"]
                _check_name(f"{where}.variants[{i}].name", name)
                if name in seen:
                    raise ConfigError(f"{where}.variants[{i}].name: duplicate variant {name!r}")
                seen.add(name)
                for scale_name in var.get("at_scale", {}):
                    if scale_name not in config["scales"]:
                        raise ConfigError(f"{where}.variants[{i}].at_scale.{scale_name}: "
                                          f"unknown scale; allowed: {sorted(config['scales'])}")
                try:
                    for args in [var.get("args", {}),
                                 *(o.get("args", {}) for o in var.get("at_scale", {}).values())]:
                        check_model_args(var["model"], args, user)
                except ValueError as e:
                    raise ConfigError(f"{where}.variants[{i}] ({name}): {e}") from None


def _check_name(where: str, name: str) -> None:
    if not re.fullmatch(NAME_PATTERN, name):
        raise ConfigError(f"{where}: {name!r} must match {NAME_PATTERN} (it becomes a path)")


def expand_runs(config: dict) -> dict[str, dict]:
    """All runs of all studies, keyed by their run directory. A run of a model from a
    ``models_from`` file carries that file and its code's digest (``model_source``): a
    changed statement there changes exactly those runs' specs."""
    scale = scale_settings(config)
    catalog = model_catalog(config)
    runs = {}
    for study, sdef in config["studies"].items():
        for ds, ddef in sdef["datasets"].items():
            # The scale's sizes, unless this study replaces them at this scale.
            study_here = ddef.get("at_scale", {}).get(config["scale"], {})
            scale_here = dataset_sizes(config, ds)
            sizes = {**scale_here, **study_here}
            for var in ddef["variants"]:
                # What this scale replaces for this variant (e.g. a wider model on GPUs).
                here = var.get("at_scale", {}).get(config["scale"], {})
                # The more specific setting wins: defaults, scale, study, study at this
                # scale, variant, variant at this scale.
                training = {**config["training"], **scale_here.get("training", {}),
                            **ddef.get("training", {}), **study_here.get("training", {}),
                            **var.get("training", {}), **here.get("training", {}),
                            "epochs": sizes["epochs"]}
                for seed in scale["seeds"]:
                    spec = {
                        "study": study,
                        "dataset": ds,
                        "variant": var["name"],
                        "label": var.get("label", var["name"]),
                        "seed": seed,
                        "model": var["model"],
                        "model_args": {**var.get("args", {}), **here.get("args", {})},
                        **({"sweep": var["sweep"]} if "sweep" in var else {}),
                        **({"kind": var["kind"]} if "kind" in var else {}),
                        **({"model_source": catalog[var["model"]].source()}
                           if var["model"] in catalog else {}),
                        "training": training,
                        "data": {
                            "synthetic": uses_synthetic(config, ds),
                            "train_size": sizes.get("train_size"),
                            "validation_size": scale_here["validation_size"],
                            "test_size": sizes.get("test_size"),
                        },
                    }
                    runs[run_dir(study, ds, var["name"], seed)] = canonical(spec)
    return runs


def dataset_sizes(config: dict, dataset: str) -> dict:
    """The sizes, epochs and training settings of ``dataset`` at the config's scale: the
    scale's own entry for it, else the scale's ``other_datasets`` with each size at most
    what the split holds (a default must fit any dataset; a size the user gives that does
    not fit is an error, ``check_runs``)."""
    scale = scale_settings(config)
    images = split_images(dataset, uses_synthetic(config, dataset))
    if dataset in scale.get("datasets", {}):
        sizes = dict(scale["datasets"][dataset])
        if "validation_size" in sizes:
            return sizes
        # A dataset the scale lists without a validation size: the scale's default.
        return {**sizes, "validation_size": default_validation_size(scale, config["scale"],
                                                                    images["train"])}
    sizes = dict(scale["other_datasets"])
    sizes["validation_size"] = default_validation_size(scale, config["scale"], images["train"])
    if sizes.get("train_size") is not None:
        sizes["train_size"] = min(sizes["train_size"], images["train"] - sizes["validation_size"])
    if sizes.get("test_size") is not None:
        sizes["test_size"] = min(sizes["test_size"], images["test"])
    return sizes


def default_validation_size(scale: dict, name: str, train_images: int) -> int:
    """The scale's ``other_datasets.validation_size``, at most a fifth of the training
    split (a default must leave most of a small folder to train on), and at least one."""
    if "validation_size" not in scale.get("other_datasets", {}):
        raise ConfigError(f"scales.{name}: a dataset without validation_size needs "
                          f"scales.{name}.other_datasets.validation_size to take it "
                          f"from (the images held out of the training split)")
    return max(1, min(scale["other_datasets"]["validation_size"], train_images // 5))


def split_images(dataset: str, synthetic: bool) -> dict[str, int]:
    """``{"train": n, "test": n}``: the images each split of ``dataset`` holds, as the data
    job writes it (the synthetic data's fixed counts, or the dataset's own)."""
    info = DATASETS[dataset]
    return {"train": SYNTHETIC_TRAIN_IMAGES if synthetic else info.train_images,
            "test": SYNTHETIC_TEST_IMAGES if synthetic else info.test_images}


# What says how a run is shown, not what it computes: left out of what a training job is
# given (``trained_spec``), so relabelling, or saying a variant's kind, retrains nothing.
DISPLAY_KEYS = ("label", "sweep", "kind")


def shown_as(spec: dict) -> dict:
    """How the config shows a run (``DISPLAY_KEYS``): given to the rules that show runs."""
    return {k: spec[k] for k in DISPLAY_KEYS if k in spec}


def trained_spec(spec: dict) -> dict:
    """A run's spec without what only says how it is shown (``DISPLAY_KEYS``): what its
    training job computes from, and what its metrics.json records."""
    return {k: v for k, v in spec.items() if k not in DISPLAY_KEYS}


def variant_spec(spec: dict) -> dict:
    """``trained_spec`` without the seed: the same for every seed of a variant, so it is
    what a training job is given whether the job trains one run or a variant's seeds
    (switching ``train_job_per`` retrains nothing; the seeds come from the job's outputs)."""
    return {k: v for k, v in trained_spec(spec).items() if k != "seed"}


def job_run_specs(variant: dict, outputs) -> dict[str, dict]:
    """The runs of a training job from its output files (``<run>/<file>``), in order, each
    with its spec: ``variant`` (``variant_spec``) with the run folder's seed."""
    runs = dict.fromkeys(str(Path(f).parent) for f in outputs)
    return {run: canonical({**variant, "seed": int(Path(run).name.removeprefix("seed"))})
            for run in runs}


def check_runs(runs: dict[str, dict], scale: str) -> None:
    """What only a run's whole spec shows, checked before any job starts, every problem
    listed: each number of its training settings is finite (the schema takes ``.inf`` for
    a number above 0), its train and test sizes are no larger than the dataset's splits
    (never silently clamped; the training images beside the validation ones), momentum cycles within [0, 1), and each epoch takes at least
    one optimizer step (the batch size against the run's training images; the last
    incomplete batch is dropped)."""
    problems = {}
    for spec in runs.values():
        where = f"studies.{spec['study']}.datasets.{spec['dataset']}, variant {spec['variant']!r}"
        t = spec["training"]
        for key, value in t.items():
            if isinstance(value, float) and not math.isfinite(value):
                problems[where, key] = f"{where}: training.{key} is {value}; it must be finite"
        if t["schedule"] == "onecycle" and t["momentum"] > 0 and not (
                0 <= t["momentum"] - t["momentum_cycle"] and t["momentum"] + t["momentum_cycle"] < 1):
            problems[where, "momentum_cycle"] = (
                f"{where}: training.momentum {t['momentum']} with training.momentum_cycle "
                f"{t['momentum_cycle']} cycles outside [0, 1); lower momentum_cycle")
        synthetic = spec["data"]["synthetic"]
        available_images = split_images(spec["dataset"], synthetic)
        # The training split holds the validation images and, beside them, the training ones.
        validation = spec["data"]["validation_size"]
        available_images["train"] -= validation
        split_name = f"{spec['dataset']}'s {'synthetic ' if synthetic else ''}"
        if available_images["train"] < 1:
            problems[where, "validation_size"] = (
                f"{where}: validation_size {validation} at scale {scale!r} leaves no training "
                f"images of the {available_images['train'] + validation} in {split_name}train "
                f"split; use fewer (scales.{scale}.datasets.{spec['dataset']}.validation_size)")
            continue
        for split, available in available_images.items():
            wanted = spec["data"][f"{split}_size"]
            if wanted is not None and wanted > available:
                beside = (f" beside its {validation} validation images" if split == "train"
                          else "")
                problems[where, f"{split}_size"] = (
                    f"{where}: {split}_size {wanted} at scale {scale!r} is more than the "
                    f"{available} images of {split_name}{split} split{beside}; use at most "
                    f"{available}, or null for all of them")
        available = available_images["train"]
        images = min(spec["data"]["train_size"] or available, available)
        if t["batch_size"] > images:
            problems[where, "batch_size"] = (
                f"{where}: training.batch_size is {t['batch_size']}, more than the run's "
                f"{images} training images at scale {scale!r}: no optimizer step would be taken "
                f"(the last incomplete batch is dropped); use at most {images}")
    if problems:
        raise ConfigError("\n".join(problems.values()))


def canonical(obj):
    """A copy with every dict's keys sorted. Snakemake compares a job's parameters by
    their text, so without this a reordered config.yaml would retrain unchanged runs."""
    if isinstance(obj, dict):
        return {k: canonical(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [canonical(v) for v in obj]
    return obj


def run_dir(study: str, dataset: str, variant: str, seed) -> str:
    return f"{RESULTS}/runs/{study}/{dataset}/{variant}/seed{seed}"


def train_benchmark_pattern(train_job_per: str) -> str:
    """Snakemake's benchmark file of a training job, as a pattern of its wildcards: one per
    variant where a job trains a variant's seeds, else one per run."""
    job = "{study}/{dataset}/{variant}" + ("" if train_job_per == "variant" else "/seed{seed}")
    return f"{RESULTS}/benchmarks/train/{job}.tsv"


def train_benchmarks(spec: dict, train_job_per: str) -> list[str]:
    """Where the benchmark of the job that trained ``spec``'s run may be: the file of a
    job of this scale's shape first, then of the other shape (a run trained before
    ``train_job_per`` was switched is not retrained)."""
    other = "run" if train_job_per == "variant" else "variant"
    return [train_benchmark_pattern(shape).format(**spec) for shape in (train_job_per, other)]


def resume_path(run: str) -> str:
    """Where a run keeps its resume checkpoint: outside its outputs, which Snakemake
    deletes before the job (re)starts."""
    return run.replace(f"{RESULTS}/runs/", f"{RESULTS}/resume/", 1) + ".pt"


def log_path(run: str, rule: str) -> str:
    """A rule's log for one run: results/logs/<rule>/<study>/<dataset>/<variant>/seed<n>.log."""
    return run.replace(f"{RESULTS}/runs/", f"{RESULTS}/logs/{rule}/", 1) + ".log"


def prepared_path(dataset: str, synthetic: bool, suffix: str = ".npz") -> str:
    """The prepared dataset (``.npz``), or with ``suffix=".json"`` its provenance."""
    return f"{RESULTS}/data/{'synthetic/' if synthetic else ''}{dataset}{suffix}"

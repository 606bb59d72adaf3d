"""Edits retrain exactly what they change. A small project of a user's (its own image folder,
synthetic MNIST, a model file, a sweep) is built once at smoke scale; then every key the
config schema knows is edited, one at a time, and the dry run's training and preparation
jobs are counted against what that key should trigger. The table below is checked against
the schema: a key added to the schema without an entry here fails the test."""

from __future__ import annotations

import copy
import shutil
import subprocess

import numpy as np
import pytest
import yaml
from PIL import Image

from conftest import REPO
from test_workflow import SNAKEMAKE, job_counts

pytestmark = pytest.mark.workflow
SCHEMA = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())

MODELS = '''
from torch import nn
import cnnlab


@cnnlab.register_model
def tiny(in_shape, num_classes, width=4):
    return nn.Sequential(nn.Conv2d(in_shape[0], width, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes))


@cnnlab.register_model
def tiny_max(in_shape, num_classes, width=4):
    return nn.Sequential(nn.Conv2d(in_shape[0], width, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(width, num_classes))
'''

# The user's config: everything else is cnnlab's default. Runs: s1 on MNIST has variants
# a, b and the sweep points d-lr0.05, d-lr0.1 (8 runs with two seeds), s2 on the folder
# has c (2 runs): 10 training jobs, 2 preparations (the folder, synthetic MNIST).
CONFIG = {
    "scale": "smoke",
    "models_from": ["models.py"],
    "datasets": {"pics": {"folder": "pics", "image_size": 8, "channels": 1,
                          "test_fraction": 0.25, "varied_objects": True}},
    "training": {"batch_size": 16},
    "scales": {"smoke": {"seeds": [0, 1],
                         "datasets": {"mnist": {"train_size": 200, "test_size": 100,
                                                "epochs": 1}},
                         "other_datasets": {"train_size": 40, "test_size": 20, "epochs": 1}}},
    "studies": {
        "s1": {"title": "One", "description": "MNIST", "datasets": {"mnist": {"variants": [
            {"name": "a", "label": "A", "model": "mlp", "args": {"hidden": [16]}},
            {"name": "b", "label": "B", "model": "tiny", "args": {"width": 4}},
            {"name": "d", "label": "D", "model": "mlp", "args": {"hidden": [8]},
             "sweep": {"lr": [0.05, 0.1]}}]}}},
        "s2": {"title": "Two", "datasets": {"pics": {"variants": [
            {"name": "c", "label": "C", "model": "simple_cnn",
             "args": {"channels": [4, 8], "hidden": 16}}]}}},
    },
}
ALL, MNIST_RUNS, PICS_RUNS, VARIANT = 10, 8, 2, 2  # training jobs; a variant is 2 seeds
S1, S2 = CONFIG["studies"]["s1"]["datasets"]["mnist"], CONFIG["studies"]["s2"]["datasets"]["pics"]


def write_folder(folder):
    """Two classes of 60 8x8 grayscale images each (dark and bright, with noise): at the
    quick scale, what the validation images leave of the training quarter holds a batch."""
    rng = np.random.default_rng(0)
    for label, cls in enumerate(("dark", "bright")):
        (folder / cls).mkdir(parents=True)
        for i in range(60):
            pixels = np.clip(rng.normal(60 + 130 * label, 30, (8, 8)), 0, 255)
            Image.fromarray(pixels.astype(np.uint8), "L").save(folder / cls / f"{i:02d}.png")


def move_folder(cfg, root):
    (root / "pics").rename(root / "moved")
    cfg["datasets"]["pics"]["folder"] = "moved"
    return lambda: (root / "moved").rename(root / "pics")


def other_mirror(cfg, root):
    (root / "mirror").mkdir(exist_ok=True)
    cfg["data_mirror"] = str(root / "mirror")


def other_models_file(cfg, root):
    (root / "more.py").write_text("import cnnlab\n\n@cnnlab.register_model\n"
                                  "def unused(in_shape, num_classes):\n    raise ValueError\n")
    cfg["models_from"].append("more.py")


def this_build_as_baseline(cfg, root):
    """The report compared with a build: here the project's own results folder."""
    cfg["baseline"] = str(root / "results")


def setter(path, value):
    """An edit that sets the key at ``path`` (dots; ``[i]`` indexes a list) to ``value``."""
    def edit(cfg, root):
        *parents, last = path.split(".")
        node = cfg
        for key in parents:
            name, _, index = key.partition("[")
            node = node.setdefault(name, {})
            if index:
                node = node[int(index.rstrip("]"))]
        node[last] = value
    return edit


TRAINING = {  # a new value for each training setting (all valid for these runs)
    "optimizer": "adamw", "lr": 0.02, "momentum": 0.8, "momentum_cycle": 0.0,
    "weight_decay": 1e-3, "batch_size": 8, "schedule": "cosine", "augment": "flip_crop",
    "label_smoothing": 0.1, "grad_clip": 1.0, "grad_log_every": 5, "eval_batch_size": 50,
    "curve_points": 4, "curve_size": 50, "device": "cpu", "precision": "fp32",
    "compile": True, "deterministic": True}
V = "studies.s1.datasets.mnist.variants[0]"  # variant a

# schema key -> (edit, training jobs, preparation jobs) that the edit must plan.
TABLE = {
    # What a run computes from: exactly its runs.
    "scale": (setter("scale", "quick"), 5, 1),  # quick: a job per variant; real MNIST
    "datasets.*.image_size": (setter("datasets.pics.image_size", 12), PICS_RUNS, 1),
    "datasets.*.channels": (setter("datasets.pics.channels", 3), PICS_RUNS, 1),
    "datasets.*.test_fraction": (setter("datasets.pics.test_fraction", 0.3), PICS_RUNS, 1),
    "datasets.*.split_seed": (setter("datasets.pics.split_seed", 1), PICS_RUNS, 1),
    "scales.*.synthetic": (setter("scales.smoke.synthetic", False), MNIST_RUNS, 1),
    "scales.*.seeds": (setter("scales.smoke.seeds", [0, 1, 2]), 5, 0),  # seed 2 of each
    "scales.*.datasets.*.train_size": (
        setter("scales.smoke.datasets.mnist.train_size", 150), MNIST_RUNS, 0),
    "scales.*.datasets.*.test_size": (
        setter("scales.smoke.datasets.mnist.test_size", 80), MNIST_RUNS, 0),
    "scales.*.datasets.*.validation_size": (
        setter("scales.smoke.datasets.mnist.validation_size", 150), MNIST_RUNS, 0),
    "scales.*.datasets.*.epochs": (setter("scales.smoke.datasets.mnist.epochs", 2), MNIST_RUNS, 0),
    # The sweep points set lr themselves (a variant's setting wins): a and b only.
    "scales.*.datasets.*.training": (
        setter("scales.smoke.datasets.mnist.training", {"lr": 0.2}), 2 * VARIANT, 0),
    "scales.*.other_datasets.train_size": (
        setter("scales.smoke.other_datasets.train_size", 30), PICS_RUNS, 0),
    "scales.*.other_datasets.test_size": (
        setter("scales.smoke.other_datasets.test_size", 10), PICS_RUNS, 0),
    "scales.*.other_datasets.validation_size": (
        setter("scales.smoke.other_datasets.validation_size", 5), PICS_RUNS, 0),
    "scales.*.other_datasets.epochs": (setter("scales.smoke.other_datasets.epochs", 2), PICS_RUNS, 0),
    "scales.*.other_datasets.training": (
        setter("scales.smoke.other_datasets.training", {"weight_decay": 0.0}), PICS_RUNS, 0),
    **{f"training.{key}": (setter(f"training.{key}", value),
                           ALL - 2 * VARIANT if key == "lr" else ALL, 0)
       for key, value in TRAINING.items()},
    "studies.*.datasets.*.training": (
        setter("studies.s1.datasets.mnist.training", {"weight_decay": 0.0}), MNIST_RUNS, 0),
    "studies.*.datasets.*.at_scale.*.train_size": (
        setter("studies.s1.datasets.mnist.at_scale", {"smoke": {"train_size": 100}}),
        MNIST_RUNS, 0),
    "studies.*.datasets.*.at_scale.*.test_size": (
        setter("studies.s1.datasets.mnist.at_scale", {"smoke": {"test_size": 50}}),
        MNIST_RUNS, 0),
    "studies.*.datasets.*.at_scale.*.epochs": (
        setter("studies.s1.datasets.mnist.at_scale", {"smoke": {"epochs": 2}}), MNIST_RUNS, 0),
    "studies.*.datasets.*.at_scale.*.training": (
        setter("studies.s1.datasets.mnist.at_scale", {"smoke": {"training": {"lr": 0.3}}}),
        2 * VARIANT, 0),  # the sweep points' own lr wins again
    "studies.*.datasets.*.variants[].name": (setter(f"{V}.name", "a2"), VARIANT, 0),
    "studies.*.datasets.*.variants[].model": (
        setter("studies.s1.datasets.mnist.variants[1].model", "tiny_max"), VARIANT, 0),
    "studies.*.datasets.*.variants[].args": (setter(f"{V}.args", {"hidden": [20]}), VARIANT, 0),
    "studies.*.datasets.*.variants[].training": (setter(f"{V}.training", {"lr": 0.1}), VARIANT, 0),
    "studies.*.datasets.*.variants[].at_scale.*.args": (
        setter(f"{V}.at_scale", {"smoke": {"args": {"hidden": [24]}}}), VARIANT, 0),
    "studies.*.datasets.*.variants[].at_scale.*.training": (
        setter(f"{V}.at_scale", {"smoke": {"training": {"weight_decay": 0.0}}}), VARIANT, 0),
    # A value added to a grid: only the new point.
    "studies.*.datasets.*.variants[].sweep.*": (
        setter("studies.s1.datasets.mnist.variants[2].sweep", {"lr": [0.05, 0.1, 0.2]}),
        VARIANT, 0),
    # What only says how runs are shown or where things are: nothing.
    "data_mirror": (other_mirror, 0, 0),
    "baseline": (this_build_as_baseline, 0, 0),  # a report section, nothing trained
    "datasets.*.varied_objects": (setter("datasets.pics.varied_objects", False), 0, 0),
    "datasets.*.folder": (move_folder, 0, 0),
    "models_from": (other_models_file, 0, 0),
    "jobs_per_gpu": (setter("jobs_per_gpu", 2), 0, 0),
    "scales.*.train_job_per": (setter("scales.smoke.train_job_per", "variant"), 0, 0),
    "studies.*.title": (setter("studies.s1.title", "Another title"), 0, 0),
    "studies.*.description": (setter("studies.s1.description", "other words"), 0, 0),
    "studies.*.probes": (setter("studies.s2.probes", ["first_layer"]), 0, 0),
    "studies.*.datasets.*.variants[].label": (setter(f"{V}.label", "Another label"), 0, 0),
    # The report's CNN-vs-MLP reads it from the config, as it reads the label.
    "studies.*.datasets.*.variants[].kind": (setter(f"{V}.kind", "other"), 0, 0),
}


def schema_keys(node: dict, prefix: str = "") -> set[str]:
    """Every key a config can set, as a path: ``*`` for any name, ``[]`` for a list's
    items. A training block below the top level is one key (its settings are walked at
    the top level, ``training.<setting>``)."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        if name == "training" and prefix != "training":
            return {prefix}
        return schema_keys(SCHEMA["definitions"][name], prefix)
    if "allOf" in node:
        # Parts that only constrain (`required: [...]`) add no key.
        return set().union(*(schema_keys(part, prefix) for part in node["allOf"]
                             if set(part) - {"required"}))
    join = (lambda key: f"{prefix}.{key}") if prefix else (lambda key: key)
    if node.get("properties"):
        return set().union(*(schema_keys(sub, join(key))
                             for key, sub in node["properties"].items()))
    if isinstance(node.get("additionalProperties"), dict):
        return schema_keys(node["additionalProperties"], join("*"))
    items = node.get("items")
    if node.get("type") == "array" and isinstance(items, dict) and items.get("properties"):
        return schema_keys(items, f"{prefix}[]")
    return {prefix} if prefix else set()


def test_every_schema_key_has_an_entry_in_the_table():
    keys = schema_keys(SCHEMA)
    assert "training.lr" in keys and "studies.*.datasets.*.variants[].label" in keys
    assert set(TABLE) == keys, (f"keys without an entry: {sorted(keys - set(TABLE))}; "
                                f"entries of no key: {sorted(set(TABLE) - keys)}")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("retrains")
    write_folder(root / "pics")
    (root / "models.py").write_text(MODELS)
    (root / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    counts = job_counts(dry_run(root, root / "config.yaml", run=True))
    assert counts["train"] == ALL
    return root


def dry_run(root, config, run=False) -> str:
    proc = subprocess.run([*SNAKEMAKE, "-d", str(root), "--cores", "2", "report",
                           "--configfile", str(config), *([] if run else ["-n"])],
                          capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def planned(out: str) -> tuple[int, int]:
    """(training jobs, preparation jobs) a dry run plans."""
    if "Nothing to be done" in out:
        return 0, 0
    counts = job_counts(out)
    return counts.get("train", 0), sum(n for rule, n in counts.items()
                                       if rule.startswith("prepare"))


def test_each_key_retrains_exactly_what_it_changes(project):
    assert planned(dry_run(project, project / "config.yaml")) == (0, 0)
    wrong = []
    for key, (edit, train, prepare) in TABLE.items():
        config = copy.deepcopy(CONFIG)
        undo = edit(config, project)
        edited = project / "edited.yaml"
        edited.write_text(yaml.safe_dump(config))
        try:
            got = planned(dry_run(project, edited))
        finally:
            if undo:
                undo()
        if got != (train, prepare):
            wrong.append(f"{key}: planned {got[0]} training and {got[1]} preparation jobs, "
                         f"expected {train} and {prepare}")
    # The edits left nothing behind: the unedited config still plans nothing.
    assert planned(dry_run(project, project / "config.yaml")) == (0, 0)
    shutil.rmtree(project / "mirror", ignore_errors=True)
    assert not wrong, "\n".join(wrong)

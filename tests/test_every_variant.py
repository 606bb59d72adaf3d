"""Every variant of ``config.yaml`` at every scale (sweep points and ``at_scale`` arguments
included, so the full-scale models too) through two real training steps on the CPU, once in
float32 and once under bf16 autocast, as ``precision: auto`` picks on AVX2 CPUs and on bf16
hardware (GPUs, Zen 4, AMX). A new variant or scale is covered without anyone listing it.

A batch of four images keeps this fast where bf16 is emulated (AVX2-only CPUs)."""

from __future__ import annotations

import copy
import io
import math

import pytest
import torch
import yaml

from cnnlab.plan.config import canonical, expand_runs, expand_sweeps
from cnnlab.data.prepared import load_prepared, save_prepared
from cnnlab.data.sources import make_synthetic
from cnnlab.training.loop import make_trainer

from conftest import REPO, builtin_config

BATCH, STEPS = 4, 2


def two_step_spec(spec: dict, precision: str) -> dict:
    """The run's own model and recipe, cut to two optimizer steps on the CPU."""
    spec = copy.deepcopy(spec)
    spec["data"] = {"synthetic": True, "train_size": BATCH * STEPS, "validation_size": BATCH,
                    "test_size": BATCH}
    spec["training"].update(epochs=1, batch_size=BATCH, eval_batch_size=BATCH, curve_points=1,
                            curve_size=BATCH, grad_log_every=1, device="cpu",
                            precision=precision, compile=False)
    return spec


def distinct_runs(config: dict) -> dict[str, dict]:
    """One spec per variant and distinct model and recipe across all scales (seeds, and
    the sizes this test replaces, left out), keyed by where it first appears."""
    found, seen = {}, set()
    for scale in config["scales"]:
        runs = expand_runs(expand_sweeps({**config, "scale": scale}))
        for spec in runs.values():
            key = repr(canonical({k: v for k, v in two_step_spec(spec, "fp32").items()
                                  if k not in ("seed", "label")}))
            if key not in seen:
                seen.add(key)
                found[f"{scale}/{spec['study']}/{spec['dataset']}/{spec['variant']}"] = spec
    return found


RUNS = distinct_runs(builtin_config())


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """Synthetic images of each dataset's shape: two batches' worth to train on, beside a
    batch held out for validation."""
    out = {}
    for name in ("mnist", "cifar10"):
        path = tmp_path_factory.mktemp("tiny") / f"{name}.npz"
        save_prepared(make_synthetic(name, BATCH * STEPS + BATCH, BATCH), name, path)
        out[name] = load_prepared(path)
    return out


def test_every_scale_and_study_is_covered():
    """The cases really span the config: each scale contributes, the full-scale models
    (``at_scale`` arguments) are among them, and every variant of every study appears."""
    config = builtin_config()
    assert {case.split("/")[0] for case in RUNS} >= {"smoke", "full"}
    assert any(s["model_args"].get("blocks_per_stage") == 2 and s["study"] == "task1"
               for s in RUNS.values())  # task1's 4x wider full-scale resnet
    variants = {(s["study"], s["dataset"], s["variant"]) for s in RUNS.values()}
    # Counted from config.yaml itself, not by the expansion under test: a variant is one
    # case, a sweep one per grid point.
    expected = sum(math.prod(len(values) for values in var.get("sweep", {}).values())
                   for study in config["studies"].values()
                   for dataset in study["datasets"].values() for var in dataset["variants"])
    assert len(variants) == expected
    assert {("task2_depth", "cifar10", "plain-depth32"), ("task2_depth", "cifar10", "explode"),
            ("task3", "cifar10", "wide"), ("task1", "mnist", "mlp")} <= variants


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("case", RUNS)
def test_variant_trains_two_steps(case, precision, tiny_data):
    spec = two_step_spec(RUNS[case], precision)
    trainer = make_trainer(spec, tiny_data[spec["dataset"]], progress=io.StringIO())
    assert trainer.amp_dtype is (torch.bfloat16 if precision == "bf16" else None)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    state = trainer.run()
    assert state.step == STEPS and state.diverged_epoch is None
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in state.steps)
    for name, p in trainer.model.named_parameters():
        assert p.dtype == torch.float32, name  # weights stay float32 under autocast
        assert torch.isfinite(p).all(), name
    moved = [n for n, p in trainer.model.named_parameters() if not torch.equal(p, before[n])]
    assert len(moved) == len(before), f"not updated: {sorted(set(before) - set(moved))}"

"""Shared fixtures. Nothing here needs the network or ../shared: tests that want the real
datasets use the ``real_data_dir`` fixture, which skips when ../shared/datasets is absent."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from cnnlab.data.prepared import load_prepared, save_prepared
from cnnlab.data.sources import make_synthetic
from cnnlab.plan.defaults import whole_config

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"


def builtin_config() -> dict:
    """What `snakemake report` runs: cnnlab's defaults with config.yaml's studies."""
    return whole_config()


@pytest.fixture(scope="session")
def default_config() -> dict:
    return builtin_config()


@pytest.fixture
def config(default_config) -> dict:
    """A fresh copy of config.yaml at smoke scale, safe to modify in a test."""
    cfg = copy.deepcopy(default_config)
    cfg["scale"] = "smoke"
    return cfg


@pytest.fixture(scope="session")
def synthetic_mnist(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "mnist.npz"
    save_prepared(make_synthetic("mnist", 1000, 300), "mnist", path)
    return load_prepared(path)


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    if not (SHARED_DATASETS / "mnist").is_dir():
        pytest.skip(f"real datasets not found at {SHARED_DATASETS}")
    return SHARED_DATASETS


def smoke_spec(config: dict, dataset="mnist", variant="cnn", seed=0, **training) -> dict:
    """The spec of one run of the smoke config, with training overrides."""
    from cnnlab.plan.config import expand_runs, run_dir

    spec = copy.deepcopy(expand_runs(config)[run_dir("task1", dataset, variant, seed)])
    spec["training"].update(training)
    return spec

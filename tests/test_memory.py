"""The memory a training job needs, estimated before any job (issue 36, memory): a run that
will not fit the machine or its GPU is named, with its estimate and a setting that fits."""

from __future__ import annotations

import copy
import re
import subprocess
import sys

import pytest
import yaml

from cnnlab.data.catalog import DATASETS, DatasetInfo
from cnnlab.models import build_check
from cnnlab.models.build_check import checked_models, model_facts, per_run
from cnnlab.plan import memory
from cnnlab.plan.config import ConfigError, expand_runs, expand_sweeps
from cnnlab.plan.defaults import whole_config
from cnnlab.plan.machine_memory import available_memory
from conftest import REPO

GIB = 2**30


@pytest.fixture
def photos(monkeypatch):
    """An image folder of 50,000 photos at 224 pixels, as listed (no image is made): 7.5 GB
    as uint8."""
    monkeypatch.setitem(DATASETS, "photos", DatasetInfo(
        "photos", (3, 224, 224), tuple(f"c{i}" for i in range(10)), 45_000, 5_000))
    return "photos"


def folder_runs(photos, scale="full", **training) -> dict[str, dict]:
    config = whole_config({
        "scale": scale,
        "datasets": {photos: {"folder": "data/photos", "image_size": 224, "channels": 3}},
        "training": training,
        "studies": {"pets": {"datasets": {photos: {"variants": [
            {"name": "resnet", "model": "resnet"}]}}}}})
    return expand_runs(expand_sweeps(config))


def suggested(message: str, key: str) -> int:
    return int(re.search(re.escape(key) + r": (\d+)", message).group(1))


def test_a_224_pixel_folder_that_cannot_fit_names_the_run_and_an_image_size_that_fits(photos):
    runs = folder_runs(photos)
    models = {path: model_facts(spec) for path, spec in list(runs.items())[:1]}
    models = {path: next(iter(models.values())) for path in runs}
    available = {"memory": 8 * GIB, "gpu": None}
    with pytest.raises(ConfigError) as error:
        memory.check_memory(runs, models, available, "full", folders={photos})
    message = str(error.value)
    # One line for the variant (not one per seed), naming it, its estimate and the memory.
    assert message.count("variant 'resnet'") == 1
    assert "studies.pets.datasets.photos, variant 'resnet': a training job needs about" in message
    need = memory.needs(memory.job_memory(*next(iter(zip(runs.values(), models.values())))),
                        on_gpu=False)["memory"]
    assert need > 15e9  # the dataset held whole (7.5 GB) and the run's subsets
    assert f"{need / 1e9:.1f} GB of memory" in message and "the 8.6 GB of memory" in message
    # The whole dataset alone is nearly 8 GB: fewer training images cannot make it fit,
    # smaller images can: the largest side that fits is named.
    assert "train_size" not in message
    side = suggested(message, "datasets.photos.image_size")
    spec, model = next(iter(runs.values())), next(iter(models.values()))

    def fits(size):
        return memory.needs(memory.job_memory(spec, model, image_size=size), False)["memory"] \
            <= available["memory"]
    assert 8 <= side < 224 and fits(side) and not fits(side + 1)


def test_the_settings_named_for_the_gpu_s_share_are_the_largest_that_fit(photos):
    # Quick scale: 10,000 of the photos; a model whose training batch is what does not fit.
    runs = folder_runs(photos, scale="quick", eval_batch_size=200)
    model = {"parameters": 10_000_000, "saved_per_image": 80_000_000,
             "largest_per_image": 3_000_000}
    models = dict.fromkeys(runs, model)
    available = {"memory": 64 * GIB, "gpu": 16 * GIB}
    problems = memory.memory_problems(runs, models, available, "quick", folders={photos},
                                      jobs_per_gpu=2)
    assert len(problems) == 1
    assert "GB of GPU memory (a GPU's share at jobs_per_gpu: 2)" in problems[0]
    assert problems[0].endswith("or jobs_per_gpu: 1 (a whole GPU per job)")
    spec = next(iter(runs.values()))

    def fits(**change):
        return memory.needs(memory.job_memory(spec, model, **change), True)["gpu"] <= 8 * GIB
    named = {"train_size": f"scales.quick.datasets.{photos}.train_size",
             "batch_size": "training.batch_size", "image_size": f"datasets.{photos}.image_size"}
    assert "training.batch_size" in problems[0]  # the training batch is what does not fit
    for knob, key in named.items():
        if key not in problems[0]:
            continue
        value = suggested(problems[0], key)
        assert fits(**{knob: value}) and not fits(**{knob: value + 1}), key
    assert suggested(problems[0], "training.batch_size") < spec["training"]["batch_size"]
    # The same run on the CPU is checked against the machine's memory only.
    on_cpu = {path: {**s, "training": {**s["training"], "device": "cpu"}}
              for path, s in runs.items()}
    assert memory.memory_problems(on_cpu, models, available, "quick", folders={photos}) == []


def test_cnnlab_s_own_quick_studies_fit_in_24_gib(default_config, tmp_path):
    config = copy.deepcopy(default_config)
    config["scale"] = "quick"
    runs = expand_runs(expand_sweeps(config))
    models = per_run(runs, checked_models(runs, tmp_path))
    assert memory.memory_problems(runs, models, {"memory": 24 * GIB, "gpu": None}, "quick") == []
    largest = max(sum(memory.job_memory(spec, models[p]).values()) for p, spec in runs.items())
    # Not vacuous: CIFAR-10 held whole is 0.18 GB, its 25,000-image subset and test copies more.
    assert 0.3e9 < largest < 24 * GIB


def test_activations_are_counted_per_image_and_grow_with_the_pixels(monkeypatch):
    spec = {"dataset": "cifar10", "model": "resnet", "model_args": {}}
    small = model_facts(spec)
    classes = DATASETS["cifar10"].classes
    monkeypatch.setitem(DATASETS, "big", DatasetInfo("big", (3, 64, 64), classes, 1, 1))
    big = model_facts({**spec, "dataset": "big"})
    assert big["parameters"] == small["parameters"]  # global pooling: no size-bound layer
    # Four times the pixels: four times the activations every conv layer keeps.
    assert 3.5 < big["saved_per_image"] / small["saved_per_image"] <= 4.0
    assert big["largest_per_image"] == 4 * small["largest_per_image"]
    # The largest activation of one image: the stem's 32x32 feature maps, 4 bytes a value.
    assert small["largest_per_image"] % (32 * 32 * 4) == 0


def test_a_rerun_with_no_new_model_counts_nothing(config, tmp_path, monkeypatch):
    runs = {path: spec for path, spec in expand_runs(config).items()
            if spec["variant"] == "mlp" and spec["dataset"] == "mnist"}
    counted = per_run(runs, checked_models(runs, tmp_path))
    assert len(counted) == len(runs) > 1 and counted[next(iter(runs))]["parameters"] > 0

    def no_build(spec, args):
        raise AssertionError("a model was built again")
    monkeypatch.setattr(build_check, "_build", no_build)
    assert per_run(runs, checked_models(runs, tmp_path)) == counted


def test_available_memory_is_linux_s_memavailable(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       32000000 kB\nMemAvailable:   20000000 kB\n")
    assert available_memory(meminfo) == 20000000 * 1024


@pytest.mark.workflow
def test_a_run_that_cannot_fit_stops_the_workflow_before_any_job(tmp_path):
    override = tmp_path / "big.yaml"
    # An evaluation batch of a billion images fits no machine.
    override.write_text(yaml.safe_dump({"training": {"eval_batch_size": 10**9}}))
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(tmp_path),
         "-n", "report", "--configfile", str(override), "--config", "scale=smoke"],
        capture_output=True, text=True, timeout=600)
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert "config error: runs that will not fit in memory:" in text
    assert re.search(r"studies\.task1\.datasets\.mnist, variant 'mlp': a training job needs "
                     r"about [\d.]+ GB of memory", text)
    assert "training.eval_batch_size: " in text
    assert not (tmp_path / "results").exists()

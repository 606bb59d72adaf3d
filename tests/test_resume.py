"""Interrupted training resumes to exactly the metrics of an uninterrupted run (CPU)."""

import io
import json
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from cnnlab.models.registry import build_model

from cnnlab.training.resume import load_resume
from cnnlab.training.loop import Interrupted, run_training

from conftest import smoke_spec

KEYS = ("train_loss", "train_acc", "test_loss", "test_acc", "parameters", "epochs_completed")


def stop_after(steps: int):
    calls = iter(range(10 ** 9))
    return lambda: next(calls) + 1 >= steps


@pytest.mark.parametrize("variant, stop_at", [("resnet_reg", 10), ("mlp", 7)])
def test_resumed_run_equals_uninterrupted_run(config, synthetic_mnist, tmp_path, variant,
                                              stop_at):
    """resnet_reg: augmentation and dropout draw random numbers mid-epoch; stopping after
    10 steps is mid-epoch 2. mlp: 7 steps is exactly an epoch boundary."""
    spec = smoke_spec(config, "cifar10" if variant == "resnet_reg" else "mnist", variant)
    data = synthetic_mnist if variant == "mlp" else _cifar(tmp_path)
    quiet = io.StringIO()
    straight = run_training(spec, data, tmp_path / "straight", progress=quiet)

    resume = tmp_path / "resume.pt"
    with pytest.raises(Interrupted):
        run_training(spec, data, tmp_path / "resumed", progress=quiet, resume_file=resume,
                     should_stop=stop_after(stop_at))
    assert not (tmp_path / "resumed" / "metrics.json").exists()
    saved = load_resume(resume, spec)
    assert saved["state"]["step"] == stop_at

    resumed = run_training(spec, data, tmp_path / "resumed", progress=quiet,
                           resume_file=resume)
    for key in KEYS:
        assert resumed[key] == straight[key], key
    # Every epoch's row, not only the header; seconds are wall time and differ.
    resumed_history, straight_history = (
        pd.read_csv(tmp_path / f"{run}/history.csv").drop(columns="seconds")
        for run in ("resumed", "straight"))
    pd.testing.assert_frame_equal(resumed_history, straight_history)
    assert not resume.exists()  # a finished run leaves no resume file behind


def _cifar(tmp_path):
    from cnnlab.data.prepared import load_prepared, save_prepared
    from cnnlab.data.sources import make_synthetic

    save_prepared(make_synthetic("cifar10", 1000, 300), "cifar10", tmp_path / "c.npz")
    return load_prepared(tmp_path / "c.npz")


def test_resume_file_of_another_spec_is_ignored(config, synthetic_mnist, tmp_path):
    spec = smoke_spec(config, "mnist", "mlp")
    resume = tmp_path / "resume.pt"
    with pytest.raises(Interrupted):
        run_training(spec, synthetic_mnist, tmp_path / "a", progress=io.StringIO(),
                     resume_file=resume, should_stop=stop_after(3))
    changed = smoke_spec(config, "mnist", "mlp", lr=0.01)
    log = io.StringIO()
    metrics = run_training(changed, synthetic_mnist, tmp_path / "a", progress=log,
                           resume_file=resume)
    assert metrics["epochs_completed"] == changed["training"]["epochs"]
    assert f"resume checkpoint {resume} was saved for a different spec" in log.getvalue()
    assert "resuming from" not in log.getvalue()
    assert load_resume(resume.with_name("resume.pt.set-aside"), spec) is not None  # kept


@pytest.mark.parametrize("damage", ["truncated", "foreign"])
def test_unreadable_resume_file_is_set_aside_and_the_run_starts_afresh(
        config, synthetic_mnist, tmp_path, damage):
    """A truncated checkpoint (a disk that filled up, a copy cut short) or a file that is
    not a cnnlab checkpoint would otherwise fail the run on every attempt."""
    spec = smoke_spec(config, "mnist", "mlp")
    resume = tmp_path / "seed0.pt"
    with pytest.raises(Interrupted):
        run_training(spec, synthetic_mnist, tmp_path / "run", progress=io.StringIO(),
                     resume_file=resume, should_stop=stop_after(3))
    if damage == "truncated":
        resume.write_bytes(resume.read_bytes()[:1000])
    else:
        torch.save({"weights": torch.zeros(3)}, resume)
    log = io.StringIO()
    metrics = run_training(spec, synthetic_mnist, tmp_path / "run", progress=log,
                           resume_file=resume)
    assert metrics["epochs_completed"] == spec["training"]["epochs"]
    expected = "cannot be loaded" if damage == "truncated" else "is not a cnnlab resume"
    assert f"warning: resume checkpoint {resume} {expected}" in log.getvalue()
    assert (tmp_path / "seed0.pt.set-aside").is_file() and not resume.exists()
    straight = run_training(spec, synthetic_mnist, tmp_path / "straight", progress=io.StringIO())
    for key in KEYS:  # started afresh: exactly the uninterrupted run
        assert metrics[key] == straight[key], key


def test_resume_file_loads_with_weights_only(config, synthetic_mnist, tmp_path):
    spec = smoke_spec(config, "mnist", "cnn")
    with pytest.raises(Interrupted):
        run_training(spec, synthetic_mnist, tmp_path, progress=io.StringIO(),
                     resume_file=tmp_path / "r.pt", should_stop=stop_after(2))
    # weights_only raises on anything but plain data; what it loads is where the run stopped.
    snap = torch.load(tmp_path / "r.pt", weights_only=True)
    assert snap["spec"] == spec
    assert (snap["state"]["epoch"], snap["state"]["batch"], snap["state"]["step"]) == (1, 2, 2)
    model = build_model(spec["model"], (1, 28, 28), 10, **spec["model_args"])
    assert snap["model"].keys() == model.state_dict().keys()
    assert snap["optimizer"]["state"], "two steps taken: the optimizer has momentum buffers"


SIGTERM_JOB = """
import sys, json
from cnnlab.data.prepared import load_prepared
from cnnlab.training.loop import run_training
spec = json.loads(sys.argv[1])
run_training(spec, load_prepared(sys.argv[2]), sys.argv[3], resume_file=sys.argv[4])
"""


def test_sigterm_saves_and_the_rerun_resumes(config, tmp_path):
    """A real SIGTERM, as a cluster's time limit sends it, to a training process."""
    from cnnlab.data.prepared import save_prepared
    from cnnlab.data.sources import make_synthetic

    save_prepared(make_synthetic("mnist", 1000, 300), "mnist", tmp_path / "m.npz")
    spec = smoke_spec(config, "mnist", "cnn", epochs=30)
    resume, out = tmp_path / "resume.pt", tmp_path / "run"
    args = [sys.executable, "-c", SIGTERM_JOB, json.dumps(spec), str(tmp_path / "m.npz"),
            str(out), str(resume)]
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not resume.exists() and time.time() < deadline:  # first epoch saved: mid-run
        time.sleep(0.1)
    assert resume.exists(), "training never saved a checkpoint"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "Interrupted" in err
    assert not (out / "metrics.json").exists()
    saved = torch.load(resume, weights_only=True)
    assert 1 <= saved["state"]["epoch"] <= 30

    done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "resuming from" in done.stderr
    assert json.loads((out / "metrics.json").read_text())["epochs_completed"] == 30


def test_sigkill_loses_at_most_the_epoch_in_progress(config, tmp_path):
    """SIGKILL cannot be caught: the run leaves no metrics, and the rerun resumes from
    the last end-of-epoch checkpoint to the metrics of an uninterrupted run."""
    from cnnlab.data.prepared import load_prepared, save_prepared
    from cnnlab.data.sources import make_synthetic

    save_prepared(make_synthetic("mnist", 1000, 300), "mnist", tmp_path / "m.npz")
    spec = smoke_spec(config, "mnist", "mlp", epochs=400)
    resume, out = tmp_path / "resume.pt", tmp_path / "run"
    args = [sys.executable, "-c", SIGTERM_JOB, json.dumps(spec), str(tmp_path / "m.npz"),
            str(out), str(resume)]
    proc = subprocess.Popen(args, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not resume.exists() and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert not (out / "metrics.json").exists()
    epoch = torch.load(resume, weights_only=True)["state"]["epoch"]
    assert 1 < epoch <= 400 and torch.load(resume, weights_only=True)["state"]["batch"] == 0

    done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "resuming from" in done.stderr
    straight = run_training(spec, load_prepared(tmp_path / "m.npz"), tmp_path / "straight",
                            progress=io.StringIO())
    resumed = json.loads((out / "metrics.json").read_text())
    for key in KEYS:
        assert resumed[key] == straight[key], key

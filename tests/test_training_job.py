"""Several runs in one training job (``train_job_per: variant``): each seed's own files, log
and resume file, the same numbers as a job of its own, and a stopped job that loses no finished
seed (CPU, synthetic MNIST)."""

import json

import pandas as pd
import pytest

from cnnlab.training.loop import Interrupted
from cnnlab.training.job import train_job

from conftest import smoke_spec
from test_resume import stop_after

KEYS = ("train_loss", "train_acc", "test_loss", "test_acc", "epochs_completed")


def job_files(tmp_path, name, seeds):
    return ([tmp_path / name / f"seed{s}" for s in seeds],
            [tmp_path / "resume" / name / f"seed{s}.pt" for s in seeds],
            [tmp_path / "logs" / name / f"seed{s}.log" for s in seeds])


def make_dirs(*lists):
    for paths in lists:
        for p in paths:
            (p if p.suffix == "" else p.parent).mkdir(parents=True, exist_ok=True)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])  # what `auto` picks, by machine
def test_each_seed_gets_its_own_files_and_the_numbers_of_a_job_of_its_own(
        config, synthetic_mnist, tmp_path, precision):
    specs = [smoke_spec(config, "mnist", "mlp", seed=s, precision=precision) for s in (0, 1)]
    outs, resumes, logs = job_files(tmp_path, "together", (0, 1))
    make_dirs(outs, resumes, logs)
    together = train_job(specs, lambda: synthetic_mnist, outs, resumes, logs)
    alone_out, alone_resume, alone_log = job_files(tmp_path, "alone", (1,))
    make_dirs(alone_out, alone_resume, alone_log)
    alone = train_job(specs[1:], lambda: synthetic_mnist, alone_out, alone_resume, alone_log)

    # Seed 1 trained after seed 0 in the same process is seed 1 trained alone.
    for key in KEYS:
        assert together[1][key] == alone[0][key], key
    assert together[0]["test_loss"] != together[1]["test_loss"]  # two seeds, two runs
    for seed, out, log in zip((0, 1), outs, logs):
        assert json.loads((out / "metrics.json").read_text())["spec"]["seed"] == seed
        assert len(pd.read_csv(out / "history.csv")) == specs[0]["training"]["epochs"]
        text = log.read_text()
        assert f"task1/mnist/mlp seed {seed}:" in text
        assert f"seed {1 - seed}:" not in text  # each seed's lines in its own log
    assert not any(r.exists() for r in resumes)


def test_a_stopped_job_keeps_its_finished_seeds_and_resumes_the_stopped_one(
        config, synthetic_mnist, tmp_path):
    specs = [smoke_spec(config, "mnist", "mlp", seed=s) for s in (0, 1)]
    straight_out, straight_resume, straight_log = job_files(tmp_path, "straight", (0, 1))
    make_dirs(straight_out, straight_resume, straight_log)
    polls = []  # should_stop is polled once per step: count the steps of a run
    straight = train_job(specs, lambda: synthetic_mnist, straight_out, straight_resume,
                         straight_log, should_stop=lambda: polls.append(1) and False)

    outs, resumes, logs = job_files(tmp_path, "job", (0, 1))
    make_dirs(outs, resumes, logs)
    steps = len(polls) // 2
    with pytest.raises(Interrupted):  # seed 0 finishes; seed 1 stops after 5 steps
        train_job(specs, lambda: synthetic_mnist, outs, resumes, logs,
                  should_stop=stop_after(steps + 5))
    assert resumes[0].exists() and resumes[1].exists()
    for out in outs:  # what Snakemake does with a failed job's outputs
        for f in out.iterdir():
            f.unlink()

    again = train_job(specs, lambda: synthetic_mnist, outs, resumes, logs)
    assert "trained to the end already" in logs[0].read_text()
    assert "resuming from" in logs[1].read_text() and "epoch 1, batch 5" in logs[1].read_text()
    for got, want in zip(again, straight):
        for key in KEYS:
            assert got[key] == want[key], key
    for out, want in zip(outs, straight_out):
        pd.testing.assert_frame_equal(pd.read_csv(out / "history.csv").drop(columns="seconds"),
                                      pd.read_csv(want / "history.csv").drop(columns="seconds"))
    assert not any(r.exists() for r in resumes)


def test_a_job_needs_one_folder_resume_file_and_log_per_spec(config, synthetic_mnist,
                                                              tmp_path):
    with pytest.raises(ValueError, match="one output folder, resume file and log per spec"):
        train_job([smoke_spec(config)] * 2, lambda: synthetic_mnist, [tmp_path], [tmp_path],
                  [tmp_path])

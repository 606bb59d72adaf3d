"""The SLURM profile against a real SLURM cluster (../shared/slurm's single-node recipe).

Runs only where CNNLAB_SLURM_TESTS=1 says a cluster is up (.ci/run starts one, with fake
GPUs so that GPU requests schedule); skipped elsewhere. Snakemake always runs under
`timeout -k`: a Snakemake that lost track of its SLURM jobs would otherwise wait forever."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.skipif(os.environ.get("CNNLAB_SLURM_TESTS") != "1" or not shutil.which("sbatch"),
                       reason="needs a running SLURM cluster (CNNLAB_SLURM_TESTS=1)"),
]

RUNS = ["results/runs/task1/mnist/mlp/seed0", "results/runs/task1/mnist/mlp/seed1"]
PROFILE = REPO / "workflow/profiles/slurm"


@pytest.fixture(scope="module")
def cluster_profile(tmp_path_factory) -> Path:
    """The project's SLURM profile, changed only where the one-node test cluster cannot
    offer what it asks: partition name, memory and CPUs (the node has 2); and polled
    quickly. GPUs, runtimes, retries, requeue and the warning signal are the profile's own,
    so a wrong key or value there fails these tests (a command-line --set-resources would
    replace the profile's whole list instead)."""
    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
    profile["default-resources"].update(slurm_partition="debug", mem_mb=500)
    profile["set-resources"]["train"]["mem_mb"] = 1500
    profile["set-threads"]["train"] = 1
    profile["slurm-init-seconds-before-status-checks"] = 2
    folder = tmp_path_factory.mktemp("profile")
    (folder / "config.yaml").write_text(yaml.safe_dump(profile))
    shutil.copy(PROFILE / profile["configfile"], folder)
    return folder


def snakemake(workdir: Path, *args: str, profile: Path | None = None, limit=600, wait=True):
    # Targets first: list-valued options (--set-threads, --config, ...) swallow what follows.
    cmd = ["timeout", "-k", "20", str(limit), sys.executable, "-m", "snakemake",
           *args, "-s", str(REPO / "Snakefile"), "-d", str(workdir)]
    if profile:
        cmd += ["--workflow-profile", str(profile), "--verbose"]
    else:
        cmd += ["--cores", "2", "--set-threads", "train=1"]
    cmd += ["--config", "scale=smoke"]
    if not wait:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    return out


def slurm_job_ids(output: str) -> list[str]:
    return re.findall(r"submitted with SLURM jobid (\d+)", output)


def sacct_states(ids: list[str]) -> dict[str, str]:
    out = subprocess.run(["sacct", "-X", "-n", "-P", "--format=JobID,State", "-j", ",".join(ids)],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split("|")[:2] for line in out.split())


def metrics(workdir: Path, run: str) -> dict:
    m = json.loads((workdir / run / "metrics.json").read_text())
    return {k: m[k] for k in ("train_loss", "train_acc", "test_loss", "test_acc", "parameters")}


def test_training_goes_through_sbatch_and_matches_a_local_run(tmp_path, cluster_profile):
    # A run is asked for by its metrics.json; the job writes its other files beside it.
    targets = [f"{r}/metrics.json" for r in RUNS]
    out = snakemake(tmp_path / "slurm", *targets, profile=cluster_profile)
    ids = slurm_job_ids(out)
    assert len(ids) == 2  # the 2 training jobs; data preparation stayed local
    assert set(sacct_states(ids).values()) == {"COMPLETED"}
    # The profile's own requests reached sbatch: one GPU, its runtime, the warning signal.
    calls = re.findall(r"sbatch call: (.*)", out)
    assert len(calls) == 2
    for call in calls:
        assert "--gpus=1" in call and "--signal=TERM@300" in call
        assert re.search(r"-t '?180'? ", call) and re.search(r"-p '?debug'? ", call)

    snakemake(tmp_path / "local", *targets)
    for run in RUNS:
        assert metrics(tmp_path / "slurm", run) == metrics(tmp_path / "local", run)
        assert (tmp_path / "slurm" / run / "confusion.csv").read_text() == \
            (tmp_path / "local" / run / "confusion.csv").read_text()


def test_terminated_training_job_is_retried_and_resumes(tmp_path, cluster_profile):
    override = tmp_path / "long.yaml"
    override.write_text(yaml.safe_dump(
        {"scales": {"smoke": {"synthetic": True, "seeds": [0], "datasets": {
            "mnist": {"train_size": 1000, "test_size": 300, "epochs": 40}}}}}))
    run = "results/runs/task1/mnist/cnn/seed0"
    work = tmp_path / "w"
    proc = snakemake(work, f"{run}/metrics.json", "--configfile", str(override), wait=False,
                     profile=cluster_profile)

    resume = work / "results/resume/task1/mnist/cnn/seed0.pt"
    deadline = time.time() + 300
    while not resume.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.5)
    assert resume.exists(), "the training job never saved an epoch checkpoint"
    job = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True).stdout.split()
    assert len(job) == 1
    # SIGTERM to the job's processes, as a time limit or a preemption sends it. (A plain
    # `scancel` would do the same, but plugin 2.8.0 does not recognise sacct's resulting
    # "CANCELLED by <uid>" state and waits for the job forever.)
    subprocess.run(["scancel", "--signal=TERM", job[0]], check=True)

    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-6000:]
    ids = slurm_job_ids(out)
    states = sacct_states(ids)
    assert states[job[0]] == "FAILED" and states[ids[-1]] == "COMPLETED" and len(ids) == 2
    log = (work / "results/logs/train/task1/mnist/cnn/seed0.log").read_text()
    assert "resuming from" in log  # the retry's log: it continued, not started over
    assert json.loads((work / run / "metrics.json").read_text())["epochs_completed"] == 40
    assert not resume.exists()

"""End to end: the real Snakefile at smoke scale (synthetic data) in a temporary folder."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from scipy import stats

from cnnlab.plan.config import expand_sweeps
from conftest import REPO, builtin_config

pytestmark = pytest.mark.workflow
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")]


def snakemake(workdir: Path, *args: str, check: bool = True) -> str:
    # --config goes last: it takes every word after it as a key=value pair.
    proc = subprocess.run([*SNAKEMAKE, "-d", str(workdir), "--cores", "2", *args,
                           "--config", "scale=smoke"],
                          capture_output=True, text=True, timeout=1200)
    out = proc.stdout + proc.stderr
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{out[-5000:]}")
    return out


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table Snakemake prints, as {rule: count}."""
    table = output.split("Job stats:", 1)[1]
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m.group(1) != "total"}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("workflow")
    snakemake(workdir, "report")
    return workdir


@pytest.fixture
def built_copy(built, tmp_path) -> Path:
    """A copy of the built workflow (files, times and Snakemake's metadata) for a test that
    changes it, so that no other test depends on whether it ran first."""
    import shutil

    copy = tmp_path / "built"
    shutil.copytree(built, copy, symlinks=True)
    return copy


def report_rows(md: str, title: str, dataset: str) -> dict[str, list[str]]:
    """The report's table for ``dataset`` in the study titled ``title``: {label: cells}."""
    study = md.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    section = study.split(f"### {dataset}\n", 1)[1].split("\n### ", 1)[0]
    # The results table: the lines after its header and separator, up to the blank line.
    table = section.split("| variant | model | parameters |", 1)[1].split("\n\n", 1)[0]
    rows = [line.strip("|").split(" | ") for line in table.splitlines()[2:]]
    return {cells[0].strip(): [c.strip() for c in cells] for cells in rows}


def test_report_tables_hold_the_runs_numbers(built):
    config = builtin_config()
    summary = pd.read_csv(built / "results/summary.csv")
    md = (built / "results/report/report.md").read_text()
    seeds = config["scales"]["smoke"]["seeds"]
    variants = expand_sweeps(config)["studies"]  # a sweep is one variant per grid point
    assert len(summary) == len(seeds) * sum(
        len(d["variants"]) for s in variants.values() for d in s["datasets"].values())
    assert not summary["diverged"].any()
    for (study, dataset, label), runs in summary.groupby(["study", "dataset", "label"]):
        # Straight from the runs' own metrics.json, not from summary.csv.
        metrics = [json.loads((built / f"results/runs/{study}/{dataset}/{v}/seed{s}/metrics.json")
                              .read_text()) for v, s in zip(runs["variant"], runs["seed"])]
        accs = pd.Series([m["test_acc"] for m in metrics])
        cells = report_rows(md, config["studies"][study]["title"], dataset)[label]
        # Mean ± half-width of the 95% interval (Student's t, n - 1 degrees of freedom).
        half = stats.t.ppf(0.975, len(accs) - 1) * accs.std() / len(accs) ** 0.5
        accuracy, _, balanced = cells[3].partition(" (balanced ")
        assert accuracy == f"{100 * accs.mean():.2f} ± {100 * half:.2f}"
        if balanced:  # imbalanced test classes (synthetic labels are drawn at random)
            recalls = [pd.read_csv(built / f"results/runs/{study}/{dataset}/{v}/seed{s}/"
                                           "per_class.csv")["accuracy"].mean()
                       for v, s in zip(runs["variant"], runs["seed"])]
            assert balanced == f"{100 * sum(recalls) / len(recalls):.2f})"
        assert cells[2] == f"{metrics[0]['parameters']:,}"
        assert cells[-1] == str(len(metrics))
    html = (built / "results/report/report.html").read_text()
    for src in re.findall(r'<img src="([^"]+)"', html):
        assert (built / "results/report" / src).stat().st_size > 1000  # a real PNG
    assert (built / "results/runs/task1/mnist/cnn/seed0/confusion.csv").exists()


def test_each_training_job_s_snakemake_benchmark_is_in_the_summary(built):
    """Snakemake's benchmark file of each training job: its seconds (the whole job, more
    than the loop) and peak memory in summary.csv, the memory in the report's diagnostics."""
    summary = pd.read_csv(built / "results/summary.csv")
    bench = pd.read_csv(built / "results/benchmarks/train/task1/mnist/cnn/seed1.tsv", sep="\t")
    row = summary[(summary["study"] == "task1") & (summary["variant"] == "cnn")
                  & (summary["dataset"] == "mnist") & (summary["seed"] == 1)].iloc[0]
    assert row["job_seconds"] == bench["s"].iloc[0]
    assert row["peak_memory_mb"] == bench["max_rss"].iloc[0]
    assert (summary["job_seconds"] > summary["train_seconds"]).all()
    assert (summary["peak_memory_mb"] > 100).all()  # a Python process holding PyTorch
    # A copied run (Task 3's basic-block ResNet) has the costs of the job that trained it.
    shared = summary[summary["trained_as"].fillna("") != ""].iloc[0]
    source = summary[(summary["study"] == "task1") & (summary["variant"] == "resnet")
                     & (summary["dataset"] == "cifar10") & (summary["seed"] == shared["seed"])]
    assert shared["job_seconds"] == source["job_seconds"].iloc[0]
    assert "| peak memory MB |" in (built / "results/report/report.md").read_text()


def test_each_run_records_the_lock_and_the_report_prints_it(built):
    from cnnlab.provenance import LOCK, lock_status

    digest = lock_status()["lock_digest"]
    if digest is None:
        pytest.skip("no lock file for this platform (the lock is Linux x86-64, Python 3.11)")
    metrics = json.loads((built / "results/runs/task1/mnist/cnn/seed0/metrics.json").read_text())
    assert metrics["lock_digest"] == digest and metrics["matches_lock"] is True
    runs = len(pd.read_csv(built / "results/summary.csv"))
    md = (built / "results/report/report.md").read_text()
    assert (f"- Environment: lock {LOCK.relative_to(REPO)} {digest}: {runs} of {runs} runs "
            f"trained with exactly its packages") in md


def test_a_network_two_studies_share_is_trained_once(built):
    """Task 1's CIFAR-10 residual CNN is Task 3's basic-block ResNet (same spec but for
    study, variant and label): trained by Task 1's run, copied to Task 3's folder."""
    logs = built / "results/logs"
    assert not (logs / "train/task3/cifar10/basic").exists()
    summary = pd.read_csv(built / "results/summary.csv")
    for seed in (0, 1):
        source = built / f"results/runs/task1/cifar10/resnet/seed{seed}"
        shared = built / f"results/runs/task3/cifar10/basic/seed{seed}"
        mine, theirs = (json.loads((d / "metrics.json").read_text()) for d in (shared, source))
        assert (mine["spec"]["study"], mine["spec"]["variant"]) == ("task3", "basic")
        assert mine["test_acc"] == theirs["test_acc"] and mine["trained_as"] == str(
            Path("results/runs/task1/cifar10/resnet") / f"seed{seed}")
        assert (shared / "history.csv").read_text() == (source / "history.csv").read_text()
        assert "trained once for both" in (
            logs / f"share_run/task3/cifar10/basic/seed{seed}.log").read_text()
    rows = summary[(summary["study"] == "task3") & (summary["variant"] == "basic")]
    assert rows["trained_as"].str.startswith("results/runs/task1/cifar10/resnet").all()


def test_a_finished_run_that_lost_a_file_is_retrained_before_what_reads_it(built_copy):
    """The workflow declares a run's metrics.json alone (one file per run keeps planning
    10,000 runs fast). A finished run that lost another file is found at the start: a rule
    that reads the run and has to run asks for the lost file, so the run is retrained
    first; asked for by its path, it is retrained alone. A shared run that lost a file is
    copied again, not trained."""
    run = built_copy / "results/runs/task1/mnist/mlp/seed0"
    (run / "curve.csv").unlink()
    figure = built_copy / "results/figures/task1_learning_curves.png"
    figure.unlink()
    out = snakemake(built_copy, "results/figures/task1_learning_curves.png")
    assert "1 finished run(s) lack files" in out
    # The figure reads every run of Task 1: it asks for each dataset's runs index, which
    # asks for the lost file.
    assert job_counts(out) == {"retrain_incomplete": 1, "runs_index": 1, "run_figure": 1}, \
        out[-3000:]
    assert (run / "curve.csv").exists() and figure.exists()
    shared = "results/runs/task3/cifar10/basic/seed1/model.pt"
    (built_copy / shared).unlink()
    out = snakemake(built_copy, shared)
    assert job_counts(out) == {"share_run": 1}, out[-3000:]
    assert (built_copy / shared).exists()


def test_train_job_per_variant_trains_a_variant_s_seeds_in_one_job_and_shares_them(tmp_path):
    """train_job_per: variant: one training job for both seeds of Task 1's CIFAR-10 residual CNN,
    and one share_run job that copies both seeds' files to Task 3's basic-block ResNet; each
    seed with its own files, log and spec."""
    grouped = tmp_path / "grouped.yaml"
    grouped.write_text("scales: {smoke: {train_job_per: variant}}\n")
    out = snakemake(tmp_path, "results/runs/task3/cifar10/basic/seed1/metrics.json",
                    "--configfile", str(grouped))
    assert job_counts(out) == {"prepare_synthetic_data": 1, "train": 1, "share_run": 1}
    for seed in (0, 1):
        source = tmp_path / f"results/runs/task1/cifar10/resnet/seed{seed}"
        shared = tmp_path / f"results/runs/task3/cifar10/basic/seed{seed}"
        mine, theirs = (json.loads((d / "metrics.json").read_text()) for d in (shared, source))
        assert theirs["spec"]["seed"] == mine["spec"]["seed"] == seed
        assert mine["trained_as"] == f"results/runs/task1/cifar10/resnet/seed{seed}"
        assert (shared / "model.pt").read_bytes() == (source / "model.pt").read_bytes()
        log = (tmp_path / f"results/logs/train/task1/cifar10/resnet/seed{seed}.log").read_text()
        assert f"task1/cifar10/resnet seed {seed}:" in log
    # Both seeds' models differ: each seed was trained, not one copied to the other.
    assert theirs["test_loss"] != json.loads((tmp_path / "results/runs/task1/cifar10/resnet/"
                                              "seed0/metrics.json").read_text())["test_loss"]


def test_report_answers_each_study_s_questions(built):
    """Every study ends with its questions answered from the numbers; the summary
    repeats each answer's headline; latency comes from the isolated latency job."""
    md = (built / "results/report/report.md").read_text()
    config = builtin_config()
    for study, question in [
            ("task1", "Does a CNN beat a fully connected network on mnist?"),
            ("task1", "Why does the CNN's advantage differ between datasets?"),
            ("task2_kernel", "Which kernel size is the best trade-off between accuracy and cost?"),
            ("task2_depth", "Do gradients vanish with depth, does the plain network still train"),
            ("task2_depth", "Does gradient clipping help where gradients explode?"),
            ("task3", "Do the custom autograd layers train like the same math in built-in"),
            ("task3", "What does each custom layer add to a plain baseline?"),
            ("task3", "Which residual block gives the best accuracy per parameter")]:
        title = config["studies"][study]["title"]
        section = md.split(f"### Conclusions: {title}\n", 1)[1].split("\n## ", 1)[0]
        assert f"**{question}" in section, (study, question)
    # The answers first: each headline, linked to its study's conclusions.
    key = md.split("\n## Key findings\n", 1)[1].split("\n## ", 1)[0]
    assert "- Task 2b: depth, plain and residual\n  - [2 layers: plain " in key
    assert key.count("](#task3-conclusions)") == 3
    assert md.index("## Key findings") < md.index("## Contents") < md.index("## Task 1")
    for depth in (2, 4, 8, 16, 32):
        assert f"- {depth} layers. Plain, no normalization: the first layer's gradient is " in md
    # Inference speed: one row per variant, from its own job; the summary carries it.
    latency = pd.read_csv(built / "results/latency.csv")
    summary_csv = pd.read_csv(built / "results/summary.csv")
    assert len(latency) == summary_csv[["study", "dataset", "variant"]].drop_duplicates().shape[0]
    assert (latency["latency_ms"] > 0).all()
    merged = summary_csv.merge(latency, on=["study", "dataset", "variant"], suffixes=("", "_job"))
    assert (merged["latency_ms"] == merged["latency_ms_job"]).all()


def test_report_shows_the_custom_layer_verification(built):
    """The verification rule's table, as measured, is in the report."""
    table = pd.read_csv(built / "results/verification/custom_layers.csv")
    md = (built / "results/report/report.md").read_text()
    assert "## Custom autograd layers, verified against torch" in md
    for r in table.itertuples():
        assert (f"| {r.layer} | passed | {r.max_forward_diff:.1e} | {r.max_backward_diff:.1e} | "
                f"{r.max_backward_rel_diff:.1e} | {r.time_ratio:.2f}x | yes |") in md


def test_snakemake_report_is_filed_by_study_and_figure_kind(built, tmp_path):
    """Snakemake's own --report: every figure under its study (category) and kind
    (subcategory) with dataset/variant labels, and summary.csv in it."""
    import zipfile

    archive = tmp_path / "snakemake-report.zip"
    snakemake(built, "--report", str(archive))
    names = zipfile.ZipFile(archive).namelist()
    page = next(n for n in names if n.endswith("report.html"))
    html = zipfile.ZipFile(archive).read(page).decode()
    assert any(n.endswith("summary.csv") for n in names)
    assert any(n.endswith("task1_mnist_confusion.png") for n in names)
    for category in ("task1", "task2_kernel", "task3", "summary"):
        assert f'"{category}"' in html
    for subcategory in ("learning curves", "confusion", "receptive field"):
        assert f'"{subcategory}"' in html


def test_second_run_has_nothing_to_do(built):
    assert "Nothing to be done" in snakemake(built, "report", "-n")


def test_a_comment_retrains_nothing_and_a_change_of_code_retrains(built, tmp_path):
    """The workflow run on a copy of the library (PYTHONPATH): the same code elsewhere has
    nothing to do (tracked by content, not by path or time); a comment and a docstring
    edited in training/loop.py still nothing; a changed statement in it retrains every run
    and nothing else is redone for it but what depends on the runs (no data preparation)."""
    import shutil

    library = tmp_path / "src"
    shutil.copytree(REPO / "src" / "cnnlab", library / "cnnlab",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(library)}

    def dry_run():
        proc = subprocess.run([*SNAKEMAKE, "-d", str(built), "--cores", "2", "report", "-n",
                               "--config", "scale=smoke"], capture_output=True, text=True,
                              env=env, timeout=600)
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
        return proc.stdout + proc.stderr

    loop = library / "cnnlab" / "training" / "loop.py"
    assert "Nothing to be done" in dry_run()
    source = loop.read_text()
    loop.write_text(source.replace('"""One training run:', '"""(edited) One training run:', 1)
                    + "\n# a comment at the end\n")
    assert "Nothing to be done" in dry_run()
    loop.write_text(source + "\nUNUSED_CONSTANT = 1\n")
    counts = job_counts(dry_run())
    runs = len(list((built / "results/runs").glob("*/*/*/seed*")))
    assert counts["train"] + counts["share_run"] == runs  # share_run: Task 3 copies Task 1
    assert "prepare_synthetic_data" not in counts and "verify_layers" not in counts


def test_one_figure_rebuilds_alone(built_copy):
    figure = built_copy / "results/figures/task1_comparison.png"
    figure.unlink()
    out = snakemake(built_copy, "results/figures/task1_comparison.png")
    assert job_counts(out) == {"comparison": 1}
    assert figure.stat().st_size > 1000


@pytest.mark.parametrize("name", ["task9_comparison", "task1_nonexistent", "x"])
def test_unknown_figure_target_is_a_clear_error(built, name):
    """Any name, whether or not it ends like a figure kind, gets the list of figures."""
    out = snakemake(built, f"results/figures/{name}.png", "-n", check=False)
    assert f"results/figures/{name}.png is not a figure of this config" in out
    assert "task1_comparison, task1_learning_curves" in out


def test_failed_job_log_ends_with_the_traceback(tmp_path):
    """A job that fails says why in its own log, where Snakemake sends the user."""
    data = tmp_path / "results/data/synthetic"
    data.mkdir(parents=True)
    (data / "mnist.npz").write_bytes(b"not a prepared dataset")
    (data / "mnist.json").write_text("{}")
    run = "results/runs/task1/mnist/mlp/seed0"
    out = snakemake(tmp_path, f"{run}/metrics.json", check=False)
    assert "Error in rule train" in out
    log = (tmp_path / "results/logs/train/task1/mnist/mlp/seed0.log").read_text()
    assert "Traceback (most recent call last)" in log
    assert log.rstrip().splitlines()[-1].startswith(("zipfile.BadZipFile", "ValueError",
                                                     "OSError", "EOFError", "cnnlab"))


def test_bad_model_argument_value_fails_before_any_job(tmp_path):
    """Every variant's model is built (on the meta device) before a job starts; all
    failures are reported at once, naming study, dataset, variant, argument and value."""
    config = builtin_config()
    variants = config["studies"]["task1"]["datasets"]["mnist"]["variants"]
    variants[0]["args"] = {"hidden": "abc"}
    variants[1]["args"] = {"channels": [32, 64], "hidden": -5}
    override = tmp_path / "bad.yaml"
    override.write_text(yaml.safe_dump({"studies": config["studies"]}))
    out = snakemake(tmp_path, "report", "--configfile", str(override), check=False)
    assert "studies.task1.datasets.mnist, variant 'mlp' (model mlp) cannot be built for " \
           "mnist's 1x28x28 images: argument hidden='abc'" in out
    assert "variant 'cnn' (model simple_cnn) cannot be built for mnist's 1x28x28 images: " \
           "argument hidden=-5" in out
    assert not (tmp_path / "results").exists()


def test_a_model_that_returns_a_tuple_in_training_mode_fails_before_any_job(tmp_path):
    """The check builds each model as it will train: a tuple of logits in training mode
    (a tensor in eval mode) is named with variant, model and file, and no job starts."""
    model_file = tmp_path / "aux_models.py"
    model_file.write_text(
        "from torch import nn\n\nimport cnnlab\n\n\nclass Aux(nn.Linear):\n"
        "    def forward(self, x):\n        y = super().forward(x.flatten(1))\n"
        "        return (y, y) if self.training else y\n\n\n@cnnlab.register_model\n"
        "def aux_mlp(in_shape, num_classes):\n"
        "    return Aux(in_shape[0] * in_shape[1] * in_shape[2], num_classes)\n")
    study = tmp_path / "study.yaml"
    study.write_text(yaml.safe_dump({"models_from": [str(model_file)], "studies": {"mine": {
        "title": "Mine", "datasets": {"mnist": {"variants": [
            {"name": "aux", "model": "aux_mlp"}]}}}}}))
    out = snakemake(tmp_path, "report", "--configfile", str(study), check=False)
    assert (f"studies.mine.datasets.mnist, variant 'aux' (model aux_mlp), built by "
            f"{model_file}, cannot be trained on mnist: in training mode it returns a tuple "
            f"of 2, not a tensor") in out
    assert not (tmp_path / "results").exists()


def test_sweep_trains_each_point_and_a_new_point_alone(tmp_path):
    config = builtin_config()
    variants = config["studies"]["task1"]["datasets"]["mnist"]["variants"]
    variants.append({"name": "small", "label": "small MLP", "model": "mlp",
                     "args": {"hidden": [32]}, "sweep": {"lr": [0.01, 0.1]}})
    override = tmp_path / "sweep.yaml"
    override.write_text(yaml.safe_dump({"studies": config["studies"]}))
    figure = "results/figures/task1_mnist_sweep.png"
    out = snakemake(tmp_path, figure, "--configfile", str(override))
    assert job_counts(out)["train"] == 4  # 2 points x 2 seeds
    assert (tmp_path / "results/runs/task1/mnist/small-lr0.01/seed1/metrics.json").exists()
    assert (tmp_path / figure).stat().st_size > 1000

    variants[-1]["sweep"]["lr"].append(0.3)
    override.write_text(yaml.safe_dump({"studies": config["studies"]}))
    out = snakemake(tmp_path, figure, "--configfile", str(override), "-n")
    assert job_counts(out)["train"] == 2  # only the new point, both seeds
    trained = set(re.findall(r"wildcards: study=task1, dataset=mnist, variant=([^,]+), seed=", out))
    assert trained == {"small-lr0.3"}


def test_slurm_profile_keeps_its_scale_under_command_line_config(tmp_path):
    """`--config data_mirror=DIR` must not replace the profile's scale=full."""
    config = builtin_config()
    full = config["scales"]["full"]
    expected = len(full["seeds"]) * sum(len(d["variants"])
                                        for s in expand_sweeps(config)["studies"].values()
                                        for d in s["datasets"].values())
    cmd = [*SNAKEMAKE, "-d", str(tmp_path), "--workflow-profile",
           str(REPO / "workflow/profiles/slurm"), "-n", "report"]
    for extra in (["--config", f"data_mirror={tmp_path}"], []):
        proc = subprocess.run(cmd + extra, capture_output=True, text=True, timeout=300)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out[-3000:]
        assert job_counts(out)["train"] == expected
    # Only training is submitted to the cluster: every other rule is declared local (it
    # runs on the login node). A dry run does not show which is which, the rule files do.
    sources = "\n".join(p.read_text() for p in [REPO / "Snakefile",
                                                *(REPO / "workflow/rules").glob("*.smk")])
    rules = set(re.findall(r"^rule (\w+):", sources, re.M)) - {"all"}
    local = {name for block in re.findall(r"^localrules:\n((?:    \w+,?\n)+)", sources, re.M)
             for name in re.findall(r"\w+", block)}
    assert rules - local == {"train"}, rules - local


def test_changed_parameter_reruns_only_that_run(built_copy, tmp_path):
    config = builtin_config()
    variants = config["studies"]["task1"]["datasets"]["mnist"]["variants"]
    cnn = next(v for v in variants if v["name"] == "cnn")
    cnn["args"]["channels"] = [8, 16]
    override = tmp_path / "override.yaml"
    override.write_text(yaml.safe_dump({"studies": config["studies"]}))
    untouched = built_copy / "results/runs/task1/mnist/mlp/seed0/metrics.json"
    before = untouched.stat().st_mtime_ns

    out = snakemake(built_copy, "report", "--configfile", str(override))
    counts = job_counts(out)
    assert counts["train"] == 2  # the two seeds of mnist/cnn
    assert "prepare_synthetic_data" not in counts
    assert untouched.stat().st_mtime_ns == before
    spec = json.loads((built_copy / "results/runs/task1/mnist/cnn/seed1/metrics.json")
                      .read_text())
    assert spec["spec"]["model_args"]["channels"] == [8, 16]


def test_diverged_run_is_reported_and_the_rest_completes(built_copy, tmp_path):
    config = builtin_config()
    mlp = config["studies"]["task1"]["datasets"]["mnist"]["variants"][0]
    mlp["training"] = {"lr": 1.0e9, "schedule": "constant"}
    override = tmp_path / "diverge.yaml"
    override.write_text(yaml.safe_dump({"studies": config["studies"]}))
    snakemake(built_copy, "report", "--configfile", str(override))
    summary = pd.read_csv(built_copy / "results/summary.csv")
    bad = summary[(summary["study"] == "task1") & (summary["variant"] == "mlp")
                  & (summary["dataset"] == "mnist")]
    assert bad["diverged"].all() and (bad["diverged_epoch"] == 1).all()
    md = (built_copy / "results/report/report.md").read_text()
    row = report_rows(md, config["studies"]["task1"]["title"], "mnist")[mlp["label"]]
    assert row[3] == "n/a" and row[-1] == "0 (2 diverged)"
    assert "Diverged (NaN or infinite loss; left out of the means): MLP (3 layers) (2 run(s))" in md


def test_a_figure_needs_only_its_own_runs(tmp_path):
    out = snakemake(tmp_path, "results/figures/task1_mnist_confusion.png", "-n")
    # The three MNIST variants of task 1, two seeds each: one figure, a panel per variant,
    # drawn after the one file that stands for those six runs (runs_index).
    assert job_counts(out) == {"prepare_synthetic_data": 1, "train": 6, "runs_index": 1,
                               "confusion": 1}


def test_rejected_config_deletes_nothing(built, tmp_path):
    before = sorted(p.relative_to(built) for p in (built / "results").rglob("*"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("training: {lr: 0}\n")
    out = snakemake(built, "report", "--configfile", str(bad), check=False)
    assert "instance['training']['lr']" in out
    assert sorted(p.relative_to(built) for p in (built / "results").rglob("*")) == before


def test_writes_only_under_results(built):
    assert {p.name for p in built.iterdir()} <= {"results", ".snakemake"}


def test_second_invocation_on_the_same_folder_is_locked_out(built_copy):
    """Snakemake's lock: while one run works on a folder, another that has work there too
    is refused, and the first one finishes unharmed. Both ask for the deleted file itself:
    Snakemake 9 does not remake a missing intermediate file for a target that is up to
    date, so `report` alone would have nothing to do (and take no lock)."""
    metrics = "results/runs/task1/mnist/mlp/seed0/metrics.json"
    (built_copy / metrics).unlink()
    first = subprocess.Popen([*SNAKEMAKE, "-d", str(built_copy), "--cores", "1", metrics,
                              "--config", "scale=smoke"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    locks = built_copy / ".snakemake" / "locks"
    deadline = time.time() + 60
    while not any(locks.glob("*")) and time.time() < deadline and first.poll() is None:
        time.sleep(0.05)
    assert any(locks.glob("*")), "the first run never took the lock"
    second = snakemake(built_copy, metrics, check=False)
    out, _ = first.communicate(timeout=600)
    assert "Directory cannot be locked" in second
    assert first.returncode == 0, out[-3000:]
    assert (built_copy / "results/runs/task1/mnist/mlp/seed0/metrics.json").exists()


@pytest.mark.parametrize("setting, message", [
    ("training: {lr: -1}", "instance['training']['lr']"),  # the schema's
    # A number the schema accepts, and a batch that fits no smoke run (1,000 images).
    ("training: {lr: .inf}", "variant 'mlp': training.lr is inf; it must be finite"),
    ("training: {batch_size: 5000}", "studies.task1.datasets.mnist, variant 'mlp': "
                                     "training.batch_size is 5000, more than the run's 1000 "
                                     "training images at scale 'smoke'"),
    ("scales: {smoke: {train_job_per: seed}}", "'train_job_per'"),
])
def test_bad_config_fails_before_any_job(tmp_path, setting, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(setting + "\n")
    out = snakemake(tmp_path, "report", "--configfile", str(bad), check=False)
    assert message in out
    assert not (tmp_path / "results").exists()


def test_mirror_that_is_a_file_is_named_before_any_job(tmp_path):
    mirror = tmp_path / "mirror.tar"
    mirror.write_text("not a folder")
    (tmp_path / "mirror.yaml").write_text(f"data_mirror: {mirror}\n")
    out = snakemake(tmp_path, "report", "--configfile", str(tmp_path / "mirror.yaml"),
                    check=False)
    assert f"dataset mirror {mirror} is not a folder" in out
    assert not (tmp_path / "results").exists()


CHROMIUM = "/usr/bin/chromium"
# The flags a root CI machine without network needs; Playwright adds its own headless ones.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.mark.parametrize("page_name", ["report.html", "report-standalone.html"])
def test_report_renders_in_a_real_browser(built, tmp_path, page_name):
    """Headless Chromium opens the report from disk: every image loaded, no console
    errors; a screenshot is kept under results/."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed (Debian package chromium; .ci/run installs it)")
    errors = []
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = context.new_page()
        page.set_viewport_size({"width": 1280, "height": 1000})
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto((built / "results/report" / page_name).as_uri())
        page.wait_for_load_state("load")
        widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
        title = page.text_content("h1")
        # The answers are on the first screen, before any scrolling.
        findings_box = page.locator("#key-findings").bounding_box()
        page.screenshot(path=str(built / f"results/report/{page_name}.first-screen.png"))
        page.screenshot(path=str(built / f"results/report/{page_name}.png"), full_page=True)
        # Every link of the table of contents and of the key findings lands on its part:
        # after the click its target is on screen, as far up as the page lets it go.
        landed = {}
        for href in page.eval_on_selector_all(
                "#contents a, #key-findings a", "as => as.map(a => a.getAttribute('href'))"):
            page.click(f'a[href="{href}"] >> nth=0')
            landed[href] = page.evaluate(
                """id => { const t = document.getElementById(id); if (!t) return null;
                           const top = t.getBoundingClientRect().top;
                           const bottom = window.scrollY + innerHeight >= document.body.scrollHeight - 2;
                           return {top, bottom, tag: t.tagName}; }""", href[1:])
            page.evaluate("window.scrollTo(0, 0)")
        context.close()
    assert findings_box and findings_box["y"] + findings_box["height"] <= 1000, findings_box
    assert len(landed) >= 8
    for href, where in landed.items():
        assert where is not None, f"{href}: no such anchor"
        assert where["tag"] in ("SECTION", "H2", "H3"), (href, where)
        # At the top of the screen, or below it only because the page ends there.
        assert abs(where["top"]) <= 2 or (where["bottom"] and 0 <= where["top"] < 1000), \
            (href, where)
    assert title == "cnnlab report"
    assert len(widths) >= 10 and min(widths) > 0, widths
    assert errors == []
    assert (built / f"results/report/{page_name}.png").stat().st_size > 10_000


def test_the_same_command_completes_after_the_whole_workflow_is_killed(tmp_path):
    """SIGKILL of Snakemake and its jobs in the middle of a training job (no chance to save
    anything), then `--unlock` as Snakemake's message says, then the very same command:
    it completes. The job trains both seeds of a variant (train_job_per: variant): the kill
    lands in seed 1, after seed 0 finished; the rerun rebuilds seed 0's files from its
    final checkpoint without training it again, and seed 1 continues from its last
    per-epoch checkpoint."""
    runs = [f"results/runs/task1/mnist/cnn/seed{s}" for s in (0, 1)]
    logs = [tmp_path / f"results/logs/train/task1/mnist/cnn/seed{s}.log" for s in (0, 1)]
    resumes = [tmp_path / f"results/resume/task1/mnist/cnn/seed{s}.pt" for s in (0, 1)]
    longer = tmp_path / "longer.yaml"  # enough epochs that the kill lands mid-run
    longer.write_text("scales: {smoke: {train_job_per: variant, "
                      "datasets: {mnist: {epochs: 20}}}}\n")
    command = [*SNAKEMAKE, "-d", str(tmp_path), "--cores", "1", f"{runs[1]}/metrics.json",
               "--configfile", str(longer), "--config", "scale=smoke"]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    history = tmp_path / f"{runs[1]}/history.csv"  # written just after the epoch's checkpoint
    deadline = time.time() + 300
    while not (resumes[1].exists() and history.exists()) and first.poll() is None \
            and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert resumes[1].exists(), "the kill came before seed 1's first epoch's checkpoint"
    assert resumes[0].exists()  # seed 0's final state, kept until the whole job is done
    assert history.exists()  # an incomplete output is left behind
    assert not (tmp_path / f"{runs[1]}/metrics.json").exists()

    subprocess.run([*SNAKEMAKE, "-d", str(tmp_path), "--unlock"], check=True,
                   capture_output=True)
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]
    assert job_counts(again.stdout + again.stderr) == {"train": 1}
    assert "trained to the end already" in logs[0].read_text()
    assert "resuming from" in logs[1].read_text()
    assert "trained to the end already" not in logs[1].read_text()
    for run in runs:
        metrics = json.loads((tmp_path / f"{run}/metrics.json").read_text())
        assert metrics["epochs_completed"] == 20
        assert len(pd.read_csv(tmp_path / f"{run}/history.csv")) == 20
    assert not any(r.exists() for r in resumes)


def test_the_workflow_runs_as_a_snakemake_module_of_another_project(tmp_path):
    """Another project's Snakefile imports cnnlab as a module (docs/module.md)
    with a config of its own (one small study, nothing else) and builds the report
    end to end at smoke scale in its own folder: every path of the workflow's own files is
    found from the module, the defaults fill the rest, and Tasks 1-3 do not run."""
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"studies": {"mine": {
        "title": "Mine", "datasets": {"mnist": {"variants": [
            {"name": "mlp", "label": "MLP", "model": "mlp", "args": {"hidden": [32]}},
            {"name": "cnn", "label": "CNN", "model": "simple_cnn"}]}}}}}))
    (tmp_path / "Snakefile").write_text(f"""\
configfile: "config.yaml"


module cnnlab:
    snakefile:
        "{REPO}/Snakefile"
    config:
        config


use rule * from cnnlab as cnnlab_*
""")
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-d", str(tmp_path), "-s",
                           str(tmp_path / "Snakefile"), "--cores", "2", "cnnlab_report",
                           "--config", "scale=smoke"], capture_output=True, text=True,
                          timeout=1200)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    counts = job_counts(out)
    assert counts["cnnlab_train"] == 4 and counts["cnnlab_report"] == 1  # 2 variants x 2 seeds
    assert "cnnlab_verify_layers" not in counts
    md = (tmp_path / "results/report/report.md").read_text()
    assert "## Mine" in md and set(report_rows(md, "Mine", "mnist")) == {"MLP", "CNN"}
    assert "Task 1" not in md and "Custom autograd layers" not in md
    assert not (tmp_path / "results/runs/task1").exists()
    assert (tmp_path / "results/report/report.html").stat().st_size > 10_000


def test_gpu_report_script_runs_end_to_end_at_smoke_scale(tmp_path):
    """benchmarks/full_report_gpu.sh as a lent GPU machine runs it, rehearsed on the CPU at
    smoke scale: mirror pieces joined, the whole report built, what the device tool brings
    back (at most 8 files) collected."""
    import tarfile

    parts = tmp_path / "parts"
    parts.mkdir()
    piece = tmp_path / "piece"
    (piece / "cifar10").mkdir(parents=True)
    (piece / "cifar10" / "data_batch_1.bin").write_bytes(bytes(range(256)) * 40)
    subprocess.run(f"tar cf - -C {piece} cifar10 | split -b 4000 - {parts}/cifar10.tar.part-",
                   shell=True, check=True)
    pieces = len(list(parts.iterdir()))
    assert pieces > 1
    out = tmp_path / "out"
    done = subprocess.run(["bash", str(REPO / "benchmarks/full_report_gpu.sh"), "--scale",
                           "smoke", "--parts", str(parts), "--work", str(tmp_path / "work"),
                           "--out", str(out), "--jobs-per-gpu", "2"],
                          capture_output=True, text=True, timeout=1500,
                          env={**os.environ, "PYTHON": sys.executable})
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert f"joined {pieces} pieces of cifar10.tar" in done.stdout
    joined = tmp_path / "work/mirror/cifar10/data_batch_1.bin"
    assert joined.read_bytes() == (piece / "cifar10" / "data_batch_1.bin").read_bytes()
    assert sorted(p.name for p in out.iterdir()) == ["figures.tar", "report.md",
                                                      "snakemake-tail.log", "summary.csv",
                                                      "wall.txt"]
    wall = (out / "wall.txt").read_text().splitlines()
    assert wall[0].startswith("whole report, scale smoke: ") and "2 jobs per GPU" in wall[0]
    assert {line.split(":")[0] for line in wall[1:]} == {"task1", "task2_kernel",
                                                         "task2_depth", "task3"}
    assert "## Key findings" in (out / "report.md").read_text()
    assert len(pd.read_csv(out / "summary.csv")) > 50
    with tarfile.open(out / "figures.tar") as figures:
        assert sum(n.endswith(".png") for n in figures.getnames()) >= 10


# Imports a Snakemake start must not make: the workflow's parse needs none of them (code
# digests, config checks and the cached model check read files and JSON only). pandas is
# not among them: Snakemake imports it itself, loading the SLURM executor plugin.
HEAVY = ("torch", "scipy", "matplotlib")
NO_HEAVY_IMPORTS = f"""
import sys

class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {HEAVY!r}:
            raise ImportError(f"the workflow's parse imported {{name}}")

sys.meta_path.insert(0, Refuse())
from snakemake.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_the_workflow_s_parse_imports_no_pytorch_scipy_or_matplotlib(built):
    """A no-op rerun once imported PyTorch through importlib.util.find_spec (which imports
    a module's parents): 8.8 s instead of 3. Here every start fails if it imports any."""
    proc = subprocess.run([sys.executable, "-c", NO_HEAVY_IMPORTS, "-s", str(REPO / "Snakefile"),
                           "-d", str(built), "--cores", "1", "report", "-n",
                           "--config", "scale=smoke"], capture_output=True, text=True,
                          timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "Nothing to be done" in out
    # The hook does refuse: the same start with a library module that imports torch fails.
    proc = subprocess.run([sys.executable, "-c", NO_HEAVY_IMPORTS.replace(
        "from snakemake.cli import main", "import cnnlab.models.registry")],
        capture_output=True, text=True, timeout=600)
    assert "the workflow's parse imported torch" in proc.stderr


def own_config(tmp_path, mirror) -> Path:
    """A config of the user's own, as short as they write it: one small MNIST study on the
    real data (quick scale, a few hundred images); everything else is cnnlab's default."""
    config = {"scale": "quick", "data_mirror": str(mirror),
              "scales": {"quick": {"seeds": [0], "train_job_per": "run",
                                   "datasets": {"mnist": {"train_size": 512, "test_size": 200}}}},
              "studies": {"mine": {"title": "Mine", "datasets": {"mnist": {"variants": [
                  {"name": "mlp", "model": "mlp", "args": {"hidden": [32]}}]}}}}}
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.real_data
def test_moving_or_copying_the_mirror_retrains_nothing(real_data_dir, tmp_path):
    """The mirror's path and the source were parameters of the data rule: moving the
    mirror re-prepared MNIST and retrained every run. The same files anywhere: nothing."""
    import shutil

    first = tmp_path / "mirror"
    (first / "mnist").mkdir(parents=True)
    for f in (real_data_dir / "mnist").glob("*.gz"):
        (first / "mnist" / f.name).symlink_to(f)
    work = tmp_path / "work"
    config = own_config(tmp_path, first)
    target = "results/runs/mine/mnist/mlp/seed0/metrics.json"
    base = [*SNAKEMAKE, "-d", str(work), "--cores", "1", target, "--configfile", str(config)]

    def run(*extra, env=None):
        proc = subprocess.run([*base, *extra], capture_output=True, text=True, timeout=900,
                              env={**os.environ, **(env or {})})
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
        return proc.stdout + proc.stderr

    assert {"prepare_data": 1, "train": 1} == {
        k: v for k, v in job_counts(run()).items() if k in ("prepare_data", "train")}
    # A copy of the files in another folder, then the first folder moved away.
    copy = tmp_path / "copy"
    shutil.copytree(first, copy, symlinks=False)
    assert "Nothing to be done" in run("-n", "--config", f"data_mirror={copy}")
    moved = tmp_path / "moved"
    first.rename(moved)
    assert "Nothing to be done" in run("-n", "--config", f"data_mirror={moved}")
    # The same mirror named by the environment variable instead of the config.
    assert "Nothing to be done" in run("-n", "--config", "data_mirror=",
                                       env={"CNNLAB_DATA_MIRROR": str(moved)})


def test_one_s_own_study_runs_alone_and_beside_the_built_in_ones_when_asked(tmp_path):
    """A config file with studies of its own runs them alone (README, "A study of your
    own"); given with cnnlab's config.yaml, both run. Scale, sizes and recipe come from
    cnnlab's defaults where the file leaves them out."""
    config = own_config(tmp_path, "")
    alone = snakemake(tmp_path, "report", "-n", "--configfile", str(config))
    assert "results/runs/mine/mnist/mlp/seed0" in alone and "results/runs/task" not in alone
    assert "verify_layers" not in alone  # no custom layer among the user's models
    both = snakemake(tmp_path, "report", "-n", "--configfile", str(REPO / "config.yaml"),
                     str(config))
    assert "results/runs/task1/" in both and "results/runs/mine/" in both
    assert "verify_layers" in both  # Task 3's models are built from the custom layers


def test_compare_with_a_snapshot_names_the_changes_and_leaves_the_rest_at_zero(built_copy,
                                                                               tmp_path):
    """Issue 35: snapshot a build, change one variant's learning rate and another's model
    argument, rebuild, compare: the two are listed with their changes, every other variant
    differs by exactly 0, and the means are the two builds' own summary.csv means."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}

    def cnnlab(*args: str) -> str:
        proc = subprocess.run([sys.executable, "-c", "import sys; from cnnlab.cli import main; "
                               "sys.exit(main())", *args], cwd=built_copy,
                              env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    assert "snapshots/before" in cnnlab("snapshot", "before")
    before = pd.read_csv(built_copy / "snapshots/before/summary.csv")
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    variants = config["studies"]["task1"]["datasets"]["mnist"]["variants"]
    cnn = next(v for v in variants if v["name"] == "cnn")
    cnn["training"] = {"lr": 0.1}  # smoke trains at the default 0.05
    mlp = next(v for v in variants if v["name"] == "mlp")
    mlp["args"]["hidden"] = [256, 128]
    override = tmp_path / "override.yaml"
    override.write_text(yaml.safe_dump({"studies": config["studies"]}))
    snakemake(built_copy, "results/summary.csv", "--configfile", str(override))

    out = cnnlab("compare", "snapshots/before")
    print(out)  # the table as a user sees it (pytest -s)
    after = pd.read_csv(built_copy / "results/summary.csv")
    md = (built_copy / "results/comparison/comparison.md").read_text()
    rows = {}
    for section in md.split("\n## ")[1:]:
        title, _, body = section.partition("\n")
        for line in body.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == 8 and cells[0] not in ("variant", "---"):
                rows[(*title.split(" / "), cells[0])] = cells
    assert rows[("task1", "mnist", "cnn")][7] == "training.lr 0.05 → 0.1"
    assert rows[("task1", "mnist", "mlp")][7] == "model_args.hidden [512, 256] → [256, 128]"
    assert "training.lr 0.05 → 0.1" in out and "model_args.hidden" in out
    mean = lambda s, k: s[(s["study"] == k[0]) & (s["dataset"] == k[1]) & (s["variant"] == k[2])
                          & ~s["diverged"]]["test_acc"].mean()
    both = set(before.groupby(["study", "dataset", "variant"]).groups) & set(
        after.groupby(["study", "dataset", "variant"]).groups)
    assert set(rows) == both
    for key, cells in rows.items():
        assert cells[2].startswith(f"{100 * mean(before, key):.2f} (n=")
        assert cells[3].startswith(f"{100 * mean(after, key):.2f} (n=")
        if key[2] not in ("cnn", "mlp") or key[:2] != ("task1", "mnist"):
            assert cells[7] == "-" and cells[4].startswith("+0.00"), (key, cells)
            assert mean(before, key) == mean(after, key)
    assert (built_copy / "results/comparison/learning_curves.png").stat().st_size > 1000
    # The differences themselves, not their rounding: exactly 0 where nothing changed.
    from cnnlab.analysis.build import read_build
    from cnnlab.analysis.comparison import compare_builds

    result = compare_builds(read_build(built_copy / "snapshots/before"),
                            read_build(built_copy / "results"))
    assert {v.key for v in result.changed} == {("task1", "mnist", "cnn"),
                                               ("task1", "mnist", "mlp")}
    assert all(v.test.diff == 0.0 for v in result.variants if not v.changes)


def test_report_with_a_baseline_gains_the_comparison_and_reruns_only_the_report(built_copy,
                                                                                tmp_path):
    """--config baseline=DIR (issue 35): the report's "Compared with the baseline" section;
    against a snapshot of the same build every difference is exactly 0."""
    from cnnlab.analysis.snapshot import snapshot

    snapshot(built_copy / "results", built_copy / "snapshots/same")
    config = tmp_path / "baseline.yaml"
    config.write_text("baseline: snapshots/same\n")
    counts = job_counts(snakemake(built_copy, "report", "--configfile", str(config)))
    assert counts == {"report": 1}
    md = (built_copy / "results/report/report.md").read_text()
    section = md.split("## Compared with the baseline\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")
            and not line.startswith("| variant")]
    summary = pd.read_csv(built_copy / "results/summary.csv")
    assert len(rows) == summary.groupby(["study", "dataset", "variant"]).ngroups
    assert all(" | +0.00" in row and row.endswith("| no | - |") for row in rows), rows

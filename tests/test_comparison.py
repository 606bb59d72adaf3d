"""cnnlab snapshot and cnnlab compare on tiny hand-made builds (no training, no PyTorch)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cnnlab.analysis.build import BuildError, read_build
from cnnlab.analysis.comparison import compare_builds, spec_changes
from cnnlab.analysis.snapshot import snapshot
from cnnlab.analysis.statistics import welch
from conftest import REPO

SPEC = {"study": "s", "dataset": "mnist", "variant": "cnn", "label": "CNN", "seed": 0,
        "model": "simple_cnn", "model_args": {"channels": [8, 16]},
        "training": {"lr": 0.1, "epochs": 2},
        "data": {"synthetic": True, "train_size": 100, "test_size": 50}}


def make_build(root: Path, variants: dict[str, tuple[list[float], dict]]) -> Path:
    """A results folder: for each variant name, its seeds' test accuracies and spec
    overrides (nested dicts replace whole sections)."""
    rows = []
    for name, (accs, overrides) in variants.items():
        for seed, acc in enumerate(accs):
            spec = {**SPEC, "variant": name, "label": name.upper(), "seed": seed, **overrides}
            run = root / "runs" / "s" / "mnist" / name / f"seed{seed}"
            run.mkdir(parents=True)
            (run / "metrics.json").write_text(json.dumps(
                {"spec": spec, "test_acc": acc, "torch_version": "2.14.1"}))
            (run / "model.pt").write_bytes(b"x" * 1000)  # a checkpoint a snapshot leaves out
            (run / "history.csv").write_text("epoch,train_loss,test_acc\n1,1.0,\n2,0.5,0.8\n")
            (run / "curve.csv").write_text(f"step,epoch,test_acc\n1,0.5,0.5\n2,1.0,{acc}\n")
            rows.append({"study": "s", "dataset": "mnist", "variant": name,
                         "label": name.upper(), "seed": seed, "test_acc": acc,
                         "diverged": False, "torch_version": "2.14.1", "git_commit": "abc"})
    pd.DataFrame(rows).to_csv(root / "summary.csv", index=False)
    return root


def by_variant(result):
    return {v.variant: v for v in result.variants}


def test_a_planted_difference_far_beyond_the_seed_spread_is_resolved_one_within_it_is_not(tmp_path):
    base = make_build(tmp_path / "a", {"big": ([0.80, 0.81, 0.79], {}),
                                       "small": ([0.80, 0.81, 0.79], {})})
    cur = make_build(tmp_path / "b", {"big": ([0.90, 0.91, 0.89], {}),
                                      "small": ([0.805, 0.79, 0.80], {})})
    v = by_variant(compare_builds(read_build(base), read_build(cur)))
    assert v["big"].test.resolved and v["big"].test.diff == pytest.approx(0.10)
    assert v["big"].test.low > 0
    assert not v["small"].test.resolved and v["small"].test.low < 0 < v["small"].test.high
    # The report's test, on the same numbers: compare adds no rule of its own.
    assert v["small"].test == welch([0.805, 0.79, 0.80], [0.80, 0.81, 0.79])


def test_identical_builds_differ_by_exactly_zero_and_name_no_change(tmp_path):
    build = make_build(tmp_path / "a", {"cnn": ([0.7, 0.75], {}), "mlp": ([0.6, 0.65], {})})
    result = compare_builds(read_build(build), read_build(build))
    assert [v.test.diff for v in result.variants] == [0.0, 0.0]
    assert not result.changed and not result.only_baseline and not result.only_current
    assert not any(v.test.resolved for v in result.variants)


def test_changed_settings_are_named_and_labels_and_sweeps_are_not_changes(tmp_path):
    base = make_build(tmp_path / "a", {"cnn": ([0.7, 0.75], {}), "mlp": ([0.6, 0.65], {})})
    cur = make_build(tmp_path / "b", {
        "cnn": ([0.7, 0.75], {"training": {"lr": 0.05, "epochs": 2},
                              "model_args": {"channels": [4, 16]}}),
        "mlp": ([0.6, 0.65], {"label": "renamed", "sweep": {"values": {"lr": 1}}})})
    v = by_variant(compare_builds(read_build(base), read_build(cur)))
    assert v["cnn"].changes == ["model_args.channels [8, 16] → [4, 16]", "training.lr 0.1 → 0.05"]
    assert v["mlp"].changes == []


def test_model_code_and_data_changes_are_said_in_words():
    old = {**SPEC, "model_source": {"file": "m.py", "code": "aaaa"}}
    new = {**SPEC, "model_source": {"file": "m.py", "code": "bbbb"},
           "data": {**SPEC["data"], "train_size": 200}}
    assert spec_changes(old, new) == ["data changed: data.train_size 100 → 200",
                                      "model code changed"]


def test_variants_in_only_one_build_are_listed(tmp_path):
    base = make_build(tmp_path / "a", {"cnn": ([0.7, 0.75], {}), "old": ([0.5, 0.55], {})})
    cur = make_build(tmp_path / "b", {"cnn": ([0.7, 0.75], {}), "new": ([0.6, 0.65], {})})
    result = compare_builds(read_build(base), read_build(cur))
    assert [v.variant for v in result.variants] == ["cnn"]
    assert result.only_baseline == [("s", "mnist", "old", "OLD")]
    assert result.only_current == [("s", "mnist", "new", "NEW")]


def test_a_snapshot_keeps_what_compare_reads_and_no_checkpoint(tmp_path):
    build = make_build(tmp_path / "results", {"cnn": ([0.7, 0.75], {})})
    files, size = snapshot(build, tmp_path / "snap")
    kept = sorted(str(p.relative_to(tmp_path / "snap")) for p in (tmp_path / "snap").rglob("*")
                  if p.is_file())
    assert files == len(kept) == 1 + 2 * 3 and "summary.csv" in kept
    assert not any(k.endswith("model.pt") for k in kept)
    assert size == sum((tmp_path / "snap" / k).stat().st_size for k in kept)
    result = compare_builds(read_build(tmp_path / "snap"), read_build(build))
    assert result.variants[0].test.diff == 0.0
    with pytest.raises(BuildError, match="already exists"):
        snapshot(build, tmp_path / "snap")


def test_a_folder_that_is_not_a_build_is_a_one_line_error_naming_the_file(tmp_path):
    with pytest.raises(BuildError, match=r"summary\.csv does not exist"):
        read_build(tmp_path)
    build = make_build(tmp_path / "b", {"cnn": ([0.7, 0.75], {})})
    (build / "runs/s/mnist/cnn/seed1/metrics.json").unlink()
    with pytest.raises(BuildError, match=r"seed1/metrics\.json does not exist"):
        read_build(build)


# The cnnlab command as its console script runs it, from this checkout's sources.
MAIN = "import sys; from cnnlab.cli import main; sys.exit(main())"


def cnnlab(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", MAIN, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cnnlab_compare_prints_writes_and_never_imports_torch(tmp_path):
    base = make_build(tmp_path / "snap", {"cnn": ([0.80, 0.81, 0.79], {})})
    make_build(tmp_path / "results", {"cnn": ([0.90, 0.91, 0.89], {"training": {"lr": 0.05,
                                                                               "epochs": 2}})})
    # Runs the command in-process behind a check of what it imported.
    check = ("import sys; sys.argv = ['cnnlab', 'compare', 'snap'];"
             "from cnnlab.cli import main; rc = main();"
             "assert 'torch' not in sys.modules, 'compare imported torch'; sys.exit(rc)")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "training.lr 0.1 → 0.05" in proc.stdout and "+10.00" in proc.stdout
    md = (tmp_path / "results/comparison/comparison.md").read_text()
    assert "training.lr 0.1 → 0.05" in md and "| yes |" in md
    assert (tmp_path / "results/comparison/learning_curves.png").stat().st_size > 1000
    assert "training.lr" in (tmp_path / "results/comparison/comparison.html").read_text()
    assert base.exists()


def test_cnnlab_compare_on_a_folder_that_is_not_a_build_says_so_in_one_line(tmp_path):
    proc = cnnlab("compare", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"cnnlab compare: {tmp_path / 'nowhere'} does not exist"


def test_a_variant_retrained_under_another_torch_and_commit_says_so(tmp_path):
    base = make_build(tmp_path / "a", {"cnn": ([0.7, 0.75], {}), "mlp": ([0.6, 0.65], {})})
    cur = make_build(tmp_path / "b", {"cnn": ([0.7, 0.75], {}), "mlp": ([0.6, 0.65], {})})
    summary = pd.read_csv(cur / "summary.csv")
    summary.loc[summary["variant"] == "cnn", "torch_version"] = "2.15.0"
    summary.loc[summary["variant"] == "cnn", "git_commit"] = "0123456789abcdef"
    summary.to_csv(cur / "summary.csv", index=False)
    result = compare_builds(read_build(base), read_build(cur))
    v = by_variant(result)
    assert v["cnn"].changes == ["torch 2.14.1 → 2.15.0"] and v["mlp"].changes == []
    assert result.build_changes == [
        "runs trained at code commit 0123456789, which no baseline run was"]


def test_export_without_the_tracking_extra_names_what_to_install(tmp_path, monkeypatch, capsys):
    import importlib.util

    from cnnlab.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "mlflow" else real(name, *a))
    make_build(tmp_path / "results", {"cnn": ([0.7, 0.75], {})})
    assert main(["export", "--results", str(tmp_path / "results")]) == 2
    assert capsys.readouterr().err.strip() == (
        "cnnlab export: mlflow not installed: pip install 'cnnlab[tracking]'")
    assert not (tmp_path / "results/tracking").exists()

"""cnnlab export: every run once in MLflow and TensorBoard, with the build's own numbers,
and exporting again changes nothing (skipped without the tracking extra)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cnnlab.analysis.build import read_build
from test_comparison import make_build

mlflow = pytest.importorskip("mlflow")
pytest.importorskip("tensorboard")

from cnnlab.tracking.mlflow_store import export_mlflow, store_uri  # noqa: E402
from cnnlab.tracking.tensorboard_logs import export_tensorboard  # noqa: E402


def mlflow_runs(tracking: Path) -> pd.DataFrame:
    mlflow.set_tracking_uri(store_uri(tracking))
    return mlflow.search_runs(search_all_experiments=True)


def tensorboard_runs(logdir: Path) -> dict[str, dict]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = {}
    for events in sorted(logdir.rglob("events.out.tfevents.*")):
        acc = EventAccumulator(str(events.parent), size_guidance={"scalars": 0})
        acc.Reload()
        tags = acc.Tags()["scalars"]
        runs[str(events.parent.relative_to(logdir))] = {
            tag: [e.value for e in acc.Scalars(tag)] for tag in tags}
    return runs


def export(build: Path, tracking: Path):
    export_mlflow(read_build(build), tracking)
    export_tensorboard(read_build(build), tracking / "tensorboard")


def test_every_run_is_exported_once_with_the_build_s_numbers(tmp_path):
    build = make_build(tmp_path / "results", {"cnn": ([0.7, 0.75], {}), "mlp": ([0.6, 0.62], {})})
    tracking = tmp_path / "results" / "tracking"
    summary = pd.read_csv(build / "summary.csv")
    for _ in range(2):  # exporting again leaves the same runs
        export(build, tracking)
        runs = mlflow_runs(tracking)
        children = runs[runs["tags.cnnlab.run"].notna()]
        parents = runs[runs["tags.cnnlab.run"].isna()]
        assert sorted(children["tags.cnnlab.run"]) == sorted(
            f"runs/s/mnist/{v}/seed{s}" for v, s in zip(summary["variant"], summary["seed"]))
        assert sorted(parents["tags.cnnlab.variant"]) == ["s/mnist/cnn", "s/mnist/mlp"]
        events = tensorboard_runs(tracking / "tensorboard")
        assert sorted(events) == sorted(f"s/mnist/{v}/seed{s}"
                                        for v, s in zip(summary["variant"], summary["seed"]))
        for _, row in summary.iterrows():
            run = f"runs/s/mnist/{row['variant']}/seed{row['seed']}"
            child = children[children["tags.cnnlab.run"] == run].iloc[0]
            assert child["metrics.test_acc"] == row["test_acc"]
            assert child["params.training.lr"] == "0.1"
            assert child["tags.mlflow.parentRunId"] in set(parents["run_id"])
            curve = pd.read_csv(build / run / "curve.csv")
            history = mlflow.MlflowClient().get_metric_history(child["run_id"], "curve/test_acc")
            assert [(m.step, m.value) for m in history] == list(zip(curve["step"],
                                                                    curve["test_acc"]))
            scalars = events[run.removeprefix("runs/")]
            assert scalars["final/test_acc"] == [pytest.approx(row["test_acc"])]
            assert len(scalars["curve/test_acc"]) == len(curve)
        cnn = parents[parents["tags.cnnlab.variant"] == "s/mnist/cnn"].iloc[0]
        assert cnn["metrics.test_acc_mean"] == pytest.approx(0.725)
        assert cnn["metrics.n"] == 2


def test_a_rebuilt_variant_replaces_its_runs_and_a_removed_one_goes(tmp_path):
    tracking = tmp_path / "tracking"
    export(make_build(tmp_path / "a", {"cnn": ([0.7, 0.75], {}), "mlp": ([0.6, 0.62], {})}),
           tracking)
    rebuilt = make_build(tmp_path / "b", {"cnn": ([0.8, 0.85], {"training": {"lr": 0.05}})})
    export(rebuilt, tracking)
    runs = mlflow_runs(tracking)
    assert sorted(runs["tags.cnnlab.run"].dropna()) == ["runs/s/mnist/cnn/seed0",
                                                        "runs/s/mnist/cnn/seed1"]
    assert len(runs) == 3  # the parent and its two seeds
    assert sorted(runs["params.training.lr"].dropna()) == ["0.05"] * 3
    assert sorted(tensorboard_runs(tracking / "tensorboard")) == ["s/mnist/cnn/seed0",
                                                                  "s/mnist/cnn/seed1"]


def test_a_moved_results_folder_is_exported_again_in_its_new_place(tmp_path):
    build = make_build(tmp_path / "results", {"cnn": ([0.7, 0.75], {})})
    export(build, build / "tracking")
    moved = tmp_path / "moved"
    build.rename(moved)
    export(moved, moved / "tracking")
    runs = mlflow_runs(moved / "tracking")
    assert len(runs) == 3
    assert all(uri.startswith((moved / "tracking/mlartifacts").resolve().as_uri())
               for uri in runs["artifact_uri"])

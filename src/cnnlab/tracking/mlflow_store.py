"""A build exported to an MLflow tracking store in a local SQLite file: one experiment per
study, one parent run per variant (mean test accuracy, its 95% interval and n) and one child
run per seed (its settings as parameters, history.csv per epoch and curve.csv per step as
metric series, its final metrics, its files as artifacts). The variant's figures go to the
parent as artifacts.

Idempotent: every MLflow run carries the cnnlab run it stands for (tag ``cnnlab.run``, and
``cnnlab.variant``) and a digest of the variant's files (``cnnlab.digest``). A variant whose
files are unchanged is left as it is; a changed one is deleted and written again; one no
longer in the build is deleted. So one export or ten, there is one MLflow run per cnnlab run.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import time
from pathlib import Path

try:
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, ViewType
except ImportError:
    raise ImportError("mlflow is not installed: pip install 'cnnlab[tracking]'") from None

from cnnlab.analysis.build import Build
from cnnlab.report.figure_kinds import KINDS
from cnnlab.tracking.runs import Run, Variant, series, variants

# MLflow's limits for one log_batch call.
BATCH_METRICS = 1000
BATCH_PARAMS = 100


def store_uri(tracking: Path) -> str:
    return f"sqlite:///{(tracking / 'mlflow.db').resolve()}"


def _tagged(client: MlflowClient, experiment_ids: list[str], tag: str, value: str | None):
    """Active runs with ``tag`` (any value when ``value`` is None)."""
    where = (f"tags.`{tag}` = '{value}'" if value is not None else f"tags.`{tag}` LIKE '%'")
    runs, token = [], None
    while True:
        page = client.search_runs(experiment_ids, where, ViewType.ACTIVE_ONLY,
                                  max_results=1000, page_token=token)
        runs += list(page)
        if not (token := page.token):
            return runs


def _experiment(client: MlflowClient, study: str, artifacts: Path) -> str:
    found = client.get_experiment_by_name(study)
    if found is not None:
        return found.experiment_id
    # An absolute file URI: the MLflow UI may be started from any folder.
    return client.create_experiment(study, artifact_location=(artifacts / study).resolve().as_uri())


def _log(client: MlflowClient, run_id: str, metrics: list[Metric], params: dict) -> None:
    items = [Param(k, str(v)) for k, v in params.items()]
    for i in range(0, len(items), BATCH_PARAMS):
        client.log_batch(run_id, params=items[i:i + BATCH_PARAMS])
    for i in range(0, len(metrics), BATCH_METRICS):
        client.log_batch(run_id, metrics=metrics[i:i + BATCH_METRICS])


def _run_metrics(run: Run, now: int) -> list[Metric]:
    metrics = [Metric(k, v, now, 0) for k, v in run.final.items()]
    metrics += [Metric(f"epoch/{c}", v, now, s) for c, s, v in series(run.history, "epoch")]
    metrics += [Metric(f"curve/{c}", v, now, s) for c, s, v in series(run.curve, "step")]
    return metrics


def _write_variant(client: MlflowClient, experiment: str, variant: Variant, build: Build) -> None:
    now = int(time.time() * 1000)
    tags = {"cnnlab.variant": variant.name, "cnnlab.digest": variant.digest,
            "cnnlab.label": variant.label}
    parent = client.create_run(experiment, tags=tags,
                               run_name=f"{variant.dataset}: {variant.label}").info.run_id
    shared = {k: v for k, v in variant.runs[0].params.items() if k != "seed"}
    _log(client, parent, [Metric(k, v, now, 0) for k, v in variant.summary_metrics().items()],
         shared)
    for kind, how in KINDS.items():
        figure = build.root / "figures" / f"{variant.study}_{variant.dataset}_{variant.variant}_{kind}.png"
        if how.scope == "variant" and figure.is_file():
            client.log_artifact(parent, str(figure), "figures")
    client.set_terminated(parent)
    for run in variant.runs:
        child = client.create_run(experiment, run_name=f"seed{run.seed}", tags={
            **tags, "cnnlab.run": run.name, "mlflow.parentRunId": parent}).info.run_id
        _log(client, child, _run_metrics(run, now), run.params)
        for name in ("metrics.json", "history.csv", "curve.csv"):
            if (run.folder / name).is_file():
                client.log_artifact(child, str(run.folder / name))
        client.set_terminated(child, "FAILED" if run.diverged else "FINISHED")


def _moved(db: Path, artifacts: Path) -> bool:
    """Whether the store in ``db`` was written in another place (its experiments' artifact
    folders are not under ``artifacts``): a results folder moved or copied since its export.
    Read with sqlite3 before MLflow opens the file (MLflow keeps an open engine per store)."""
    if not db.is_file():
        return False
    with contextlib.closing(sqlite3.connect(db)) as con:
        locations = [loc for name, loc in con.execute(
            "SELECT name, artifact_location FROM experiments") if name != "Default"]
    here = artifacts.resolve().as_uri()
    return any(not loc.startswith(here) for loc in locations)


def export_mlflow(build: Build, tracking: Path) -> tuple[int, int]:
    """Write (or bring up to date) the store under ``tracking``; returns (variants
    written, variants left unchanged)."""
    tracking.mkdir(parents=True, exist_ok=True)
    if _moved(tracking / "mlflow.db", tracking / "mlartifacts"):
        # MLflow keeps absolute artifact locations; the store is derived data, so a moved
        # one is written again from the build rather than left pointing at the old place.
        (tracking / "mlflow.db").unlink()
        shutil.rmtree(tracking / "mlartifacts", ignore_errors=True)
    client = MlflowClient(tracking_uri=store_uri(tracking))
    found = variants(build)
    experiments = {v.study: _experiment(client, v.study, tracking / "mlartifacts") for v in found}
    every = [e.experiment_id for e in client.search_experiments()]
    current = {v.name: v.digest for v in found}
    # A variant is kept only when it is whole (a parent and one child per seed) and its
    # files are unchanged; otherwise its runs are deleted and it is written again. Runs of
    # variants the build no longer has are deleted.
    by_variant: dict[str, list] = {}
    for old in _tagged(client, every, "cnnlab.variant", None):
        by_variant.setdefault(old.data.tags["cnnlab.variant"], []).append(old)
    expected = {v.name: 1 + len(v.runs) for v in found}
    kept = set()
    for name, runs in by_variant.items():
        if len(runs) == expected.get(name) and all(
                r.data.tags.get("cnnlab.digest") == current[name] for r in runs):
            kept.add(name)
            continue
        for old in runs:
            client.delete_run(old.info.run_id)
    for variant in found:
        if variant.name not in kept:
            _write_variant(client, experiments[variant.study], variant, build)
    return len(found) - len(kept), len(kept)

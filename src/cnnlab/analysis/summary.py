"""Gather the runs' ``metrics.json`` into one tidy table, and summarize it over seeds."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from cnnlab.analysis.model_kind import run_kind
from cnnlab.analysis.statistics import ci_half_width

RUN_KEYS = ["study", "dataset", "variant", "label", "model", "seed"]
MEASURES = ["parameters", "train_acc", "val_acc", "test_acc", "train_loss", "val_loss",
            "test_loss", "gap_acc",
            "gap_loss", "train_seconds", "latency_ms", "throughput", "epochs_completed",
            "max_loss_spike", "grad_norm_log_var", "grad_norm_init", "grad_ratio_init",
            "grad_ratio_train", "peak_memory_mb", "job_seconds", "num_classes"]


def gradient_facts(grad_norms: pd.DataFrame, steps: pd.DataFrame) -> dict:
    """From a run's ``steps.csv``: the total gradient norm at the first step (at
    initialization; every parameter, the norm clipping bounds). From its ``grad_norms.csv``:
    the ratio of the first layer's weight-gradient norm to the last layer's at the first
    step and (median) over the later logged steps. Layers are in forward order; a ratio
    far below 1 means the signal vanished on its way back to the input, far above 1 that
    it grew."""
    facts = {"grad_norm_init": float("nan"), "grad_ratio_init": float("nan"),
             "grad_ratio_train": float("nan")}
    if not steps.empty:
        facts["grad_norm_init"] = float(steps.sort_values("step")["grad_norm"].iloc[0])
    if grad_norms.empty:
        return facts
    per_step = grad_norms.groupby("step", sort=True)
    ratios = per_step["norm"].agg(lambda n: n.iloc[0] / n.iloc[-1] if n.iloc[-1] else float("nan"))
    facts["grad_ratio_init"] = float(ratios.iloc[0])
    if len(ratios) > 1:
        facts["grad_ratio_train"] = float(ratios.iloc[1:].median())
    return facts


def momentum_used(metrics: dict):
    """The momentum a run stepped with: a number when constant, "low-high, cycled" when the
    schedule cycled it (the config's value where a run recorded none)."""
    used = metrics.get("momentum")
    if not used:
        return metrics["spec"]["training"]["momentum"]
    low, high = round(used["min"], 3), round(used["max"], 3)
    return low if low == high else f"{low:g}-{high:g}, cycled"


def summary_row(metrics: dict, shown: dict | None = None) -> dict:
    """One run's row. ``shown``: how the config shows the run now (label, sweep, kind), which
    its metrics.json does not record (a relabelled run is not retrained)."""
    spec = {**metrics["spec"], **(shown or {})}
    spec.setdefault("label", spec["variant"])
    row = {k: spec[k] for k in RUN_KEYS}
    row["args"] = json.dumps(spec["model_args"], sort_keys=True)
    # The whole training recipe (the report's recipe columns; questions about clipping),
    # with the momentum the optimizer actually stepped with, as the run recorded it.
    row["training"] = json.dumps({**spec["training"], "momentum": momentum_used(metrics)},
                                 sort_keys=True)
    # A sweep point: its base variant and the swept values (empty for other variants).
    sweep = spec.get("sweep")
    row["sweep_base"] = sweep["base_label"] if sweep else ""
    row["sweep_values"] = json.dumps(sweep["values"], sort_keys=True) if sweep else ""
    # Theoretical receptive field after each conv/pool layer (empty for an MLP).
    row["receptive_fields"] = " ".join(str(r) for r in metrics["receptive_fields"])
    row["layers"] = metrics["layers"]
    # CNN, MLP or neither: the config's kind, else the rule on the recorded layers.
    row["kind"], row["kind_from"] = run_kind(metrics, spec.get("kind"))
    # The run folder that trained this network when another study's run did (shared_run).
    row["trained_as"] = metrics.get("trained_as", "")
    # The number of classes (chance is its inverse), as the run's data had them.
    row["num_classes"] = metrics.get("classes", float("nan"))
    row.update({k: metrics[k] for k in ("parameters", "train_acc", "test_acc", "train_loss",
                                        "test_loss", "train_seconds",
                                        "epochs_completed", "diverged",
                                        "diverged_epoch", "max_loss_spike",
                                        "grad_norm_log_var")})
    # Validation (carved from the training split): what curves, sweeps and choices read.
    row.update({k: metrics.get(k, float("nan")) for k in ("val_acc", "val_loss")})
    row.update({f"{split}_images": metrics.get("images", {}).get(split, float("nan"))
                for split in ("train", "validation", "test")})
    # The overfitting gap: how much better the model does on what it was trained on.
    row["gap_acc"] = metrics["train_acc"] - metrics["test_acc"]
    row["gap_loss"] = metrics["test_loss"] - metrics["train_loss"]
    row.update({"epochs": spec["training"]["epochs"], "lr": spec["training"]["lr"],
                "batch_size": spec["training"]["batch_size"],
                "train_size": spec["data"]["train_size"],
                "validation_size": spec["data"].get("validation_size"),
                "test_size": spec["data"]["test_size"],
                "synthetic": spec["data"]["synthetic"], "device": metrics["device"],
                "device_name": metrics["device_name"],
                "precision": metrics["precision"],
                # Absent (None) from runs trained before it was recorded.
                "deterministic": metrics.get("deterministic"),
                "torch_version": metrics["torch_version"], "git_commit": metrics["git_commit"],
                # The environment against the project's lock (provenance.lock_status);
                # absent from runs trained before it was recorded.
                "lock_digest": metrics.get("lock_digest") or "",
                "matches_lock": metrics.get("matches_lock")})
    return row


def job_costs(benchmark: str | Path | list | None) -> dict:
    """From the Snakemake ``benchmark:`` file of the job that trained a run: its wall
    seconds (the whole job: start-up, data, training, evaluation, writing; several seeds
    where one job trains them) and peak resident memory in MB. NaN without one (none
    given, or none written: a run trained before benchmarks were kept). Given a list of
    candidates (a run trained by a job of either shape, ``train_job_per``), the newest
    file there is."""
    costs = {"job_seconds": float("nan"), "peak_memory_mb": float("nan")}
    found = [Path(b) for b in (benchmark if isinstance(benchmark, list) else [benchmark])
             if b is not None and Path(b).is_file()]
    if not found:
        return costs
    benchmark = max(found, key=lambda p: p.stat().st_mtime)
    row = pd.read_csv(benchmark, sep="\t", na_values=["NA", "-"]).iloc[-1]
    costs["job_seconds"] = float(row["s"])
    costs["peak_memory_mb"] = float(row["max_rss"])
    return costs


def build_summary(metric_files: list[str | Path], latency: pd.DataFrame | None = None,
                  benchmarks: list | None = None, shown: list[dict] | None = None
                  ) -> pd.DataFrame:
    """One row per run, in the order given (the workflow passes config order), with the
    gradient facts of the ``grad_norms.csv`` and ``steps.csv`` beside each ``metrics.json``, the costs of the
    job that trained it from ``benchmarks`` (one file or None per run, ``job_costs``), and
    each variant's inference speed from ``latency`` (``speed.latency_table``: one model
    per variant; speed depends on the architecture, not on the seed's weights).
    ``shown``: each run's label, sweep and kind as the config has them now (``summary_row``)."""
    benchmarks = benchmarks if benchmarks is not None else [None] * len(metric_files)
    shown = shown if shown is not None else [None] * len(metric_files)
    summary = pd.DataFrame([
        summary_row(json.loads(Path(f).read_text()), s)
        | gradient_facts(pd.read_csv(Path(f).with_name("grad_norms.csv")),
                         pd.read_csv(Path(f).with_name("steps.csv")))
        | job_costs(b)
        for f, b, s in zip(metric_files, benchmarks, shown, strict=True)])
    if latency is None:
        return summary.assign(latency_ms=float("nan"), throughput=float("nan"))
    return summary.merge(latency, on=["study", "dataset", "variant"], how="left")


def over_seeds(summary: pd.DataFrame, measures: list[str] = MEASURES) -> pd.DataFrame:
    """Mean, standard deviation (ddof=1; NaN for one seed) and n per variant, in config
    order; for test accuracy also the half-width of its 95% confidence interval
    (``test_acc_ci``) and the per-seed values (``test_acc_values``, for tests between
    variants) with their seeds (``test_acc_seeds``). Diverged runs are counted in ``diverged`` and left out of the means."""
    keys = ["study", "dataset", "variant", "label", "model", "args", "training", "layers",
            "receptive_fields", "kind", "kind_from"]
    # An MLP has no receptive field; read back from CSV that is NaN, which groupby drops.
    summary = summary.fillna({"receptive_fields": ""})
    # A measure a summary lacks (job costs where no benchmark file was read) is NaN.
    summary = summary.reindex(columns=[*summary.columns,
                                       *(m for m in measures if m not in summary)])
    ok = summary[~summary["diverged"].astype(bool)]
    grouped = ok.groupby(keys, sort=False)[measures]
    stats = grouped.mean().add_suffix("_mean").join(grouped.std().add_suffix("_std"))
    stats["n"] = grouped.size()
    acc = ok.groupby(keys, sort=False)["test_acc"]
    stats["test_acc_ci"] = acc.agg(ci_half_width)
    stats["test_acc_values"] = acc.agg(list)
    # Each value's seed, in the same order: twins are compared seed by seed, not by position
    # (a diverged run left out would shift every later pair).
    stats["test_acc_seeds"] = ok.groupby(keys, sort=False)["seed"].agg(list)
    order = summary[keys].drop_duplicates()
    diverged = summary.groupby(keys, sort=False)["diverged"].sum().rename("diverged")
    out = order.merge(stats.reset_index(), on=keys, how="left").merge(
        diverged.reset_index(), on=keys).fillna({"n": 0}).astype({"n": int})
    # A variant whose every run diverged has no values (NaN after the merge): an empty list.
    for column in ("test_acc_values", "test_acc_seeds"):
        out[column] = out[column].map(lambda v: v if isinstance(v, list) else [])
    return out


def read_run_tables(paths: list, specs: list[dict]) -> pd.DataFrame:
    """Concatenate per-run CSVs (history.csv, grad_norms.csv), tagging each row with its
    run's dataset, variant label and seed."""
    return pd.concat([pd.read_csv(p).assign(dataset=s["dataset"], label=s["label"],
                                            seed=s["seed"])
                      for p, s in zip(paths, specs)], ignore_index=True)

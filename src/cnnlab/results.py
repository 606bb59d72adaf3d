"""Gather the runs' ``metrics.json`` into one tidy table, and summarize it over seeds."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from cnnlab.significance import ci_half_width

RUN_KEYS = ["study", "dataset", "variant", "label", "model", "seed"]
MEASURES = ["parameters", "train_acc", "test_acc", "train_loss", "test_loss", "gap_acc",
            "gap_loss", "train_seconds", "latency_ms", "throughput", "epochs_completed",
            "max_loss_spike", "grad_norm_log_var"]


def summary_row(metrics: dict) -> dict:
    spec = metrics["spec"]
    row = {k: spec[k] for k in RUN_KEYS}
    row["args"] = json.dumps(spec["model_args"], sort_keys=True)
    # A sweep point: its base variant and the swept values (empty for other variants).
    sweep = spec.get("sweep")
    row["sweep_base"] = sweep["base_label"] if sweep else ""
    row["sweep_values"] = json.dumps(sweep["values"], sort_keys=True) if sweep else ""
    # Theoretical receptive field after each conv/pool layer (empty for an MLP).
    row["receptive_fields"] = " ".join(str(r) for r in metrics["receptive_fields"])
    row.update({k: metrics[k] for k in ("parameters", "train_acc", "test_acc", "train_loss",
                                        "test_loss", "train_seconds", "latency_ms",
                                        "throughput", "epochs_completed", "diverged",
                                        "diverged_epoch", "max_loss_spike",
                                        "grad_norm_log_var")})
    # The overfitting gap: how much better the model does on what it was trained on.
    row["gap_acc"] = metrics["train_acc"] - metrics["test_acc"]
    row["gap_loss"] = metrics["test_loss"] - metrics["train_loss"]
    row.update({"epochs": spec["training"]["epochs"], "lr": spec["training"]["lr"],
                "batch_size": spec["training"]["batch_size"],
                "train_size": spec["data"]["train_size"],
                "synthetic": spec["data"]["synthetic"], "device": metrics["device"],
                "device_name": metrics["device_name"],
                "precision": metrics["precision"],
                "torch_version": metrics["torch_version"], "git_commit": metrics["git_commit"]})
    return row


def build_summary(metric_files: list[str | Path]) -> pd.DataFrame:
    """One row per run, in the order given (the workflow passes config order)."""
    return pd.DataFrame([summary_row(json.loads(Path(f).read_text())) for f in metric_files])


def over_seeds(summary: pd.DataFrame, measures: list[str] = MEASURES) -> pd.DataFrame:
    """Mean, standard deviation (ddof=1; NaN for one seed) and n per variant, in config
    order; for test accuracy also the half-width of its 95% confidence interval
    (``test_acc_ci``) and the per-seed values (``test_acc_values``, for tests between
    variants). Diverged runs are counted in ``diverged`` and left out of the means."""
    keys = ["study", "dataset", "variant", "label", "model", "args", "receptive_fields"]
    # An MLP has no receptive field; read back from CSV that is NaN, which groupby drops.
    summary = summary.fillna({"receptive_fields": ""})
    ok = summary[~summary["diverged"].astype(bool)]
    grouped = ok.groupby(keys, sort=False)[measures]
    stats = grouped.mean().add_suffix("_mean").join(grouped.std().add_suffix("_std"))
    stats["n"] = grouped.size()
    acc = ok.groupby(keys, sort=False)["test_acc"]
    stats["test_acc_ci"] = acc.agg(ci_half_width)
    stats["test_acc_values"] = acc.agg(list)
    order = summary[keys].drop_duplicates()
    diverged = summary.groupby(keys, sort=False)["diverged"].sum().rename("diverged")
    out = order.merge(stats.reset_index(), on=keys, how="left").merge(
        diverged.reset_index(), on=keys).fillna({"n": 0}).astype({"n": int})
    # A variant whose every run diverged has no values (NaN after the merge): an empty list.
    out["test_acc_values"] = out["test_acc_values"].map(lambda v: v if isinstance(v, list) else [])
    return out


def read_run_tables(paths: list, specs: list[dict]) -> pd.DataFrame:
    """Concatenate per-run CSVs (history.csv, grad_norms.csv), tagging each row with its
    run's dataset, variant label and seed."""
    return pd.concat([pd.read_csv(p).assign(dataset=s["dataset"], label=s["label"],
                                            seed=s["seed"])
                      for p, s in zip(paths, specs)], ignore_index=True)

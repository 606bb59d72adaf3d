"""Findings computed from the measured numbers. Each function reads the per-variant table
(``analysis.summary.over_seeds``) of one study and dataset and returns plain sentences; the report
template only prints them, so a result that changes changes what the report says."""

from __future__ import annotations

import json
import math

import pandas as pd

from cnnlab.analysis.statistics import welch


def pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def accuracy_text(row) -> str:
    """A variant's mean test accuracy with the half-width of its 95% interval."""
    ci = row["test_acc_ci"]
    return pct(row["test_acc_mean"]) + ("" if ci is None or not math.isfinite(ci)
                                        else f" ± {100 * ci:.2f}")


def named(row) -> str:
    """A variant's label set off in quotes, so that commas in it do not run into the
    sentence around it."""
    return f"\u201c{row['label']}\u201d"


def _spread(row) -> float:
    """Seed-to-seed spread of a variant's test accuracy (0 when it has one seed)."""
    s = row["test_acc_std"]
    return 0.0 if s is None or (isinstance(s, float) and math.isnan(s)) else float(s)


def measured(table: pd.DataFrame, at_least: int = 2) -> pd.DataFrame | None:
    """The variants with at least one run that did not diverge, or None when fewer than
    ``at_least`` of them are left (nothing to compare)."""
    ok = table[table["n"] > 0]
    return ok if len(ok) >= at_least else None


def compare(a, b) -> str:
    """``a`` against ``b`` (rows of the per-variant table): Welch's test of their test
    accuracies over seeds, as a clause."""
    return welch(a["test_acc_values"], b["test_acc_values"]).describe()


def winner(table: pd.DataFrame) -> str | None:
    """Which variant reached the best mean test accuracy, by how much, and whether the
    lead over the runner-up is resolved by Welch's t-test over the seeds."""
    ok = table[table["n"] > 0].sort_values("test_acc_mean", ascending=False)
    if ok.empty:
        return None
    best = ok.iloc[0]
    if len(ok) == 1:
        return f"{best['label']} reached {pct(best['test_acc_mean'])} test accuracy."
    second = ok.iloc[1]
    margin = best["test_acc_mean"] - second["test_acc_mean"]
    return (f"{best['label']} has the best test accuracy, {pct(best['test_acc_mean'])}, "
            f"{100 * margin:.2f} points ahead of {second['label']} "
            f"({pct(second['test_acc_mean'])}); {compare(best, second)}.")


def most_overfit(table: pd.DataFrame) -> str | None:
    ok = measured(table)
    if ok is None:
        return None
    worst = ok.loc[ok["gap_acc_mean"].idxmax()]
    least = ok.loc[ok["gap_acc_mean"].idxmin()]
    return (f"{worst['label']} overfits most: train accuracy exceeds test accuracy by "
            f"{100 * worst['gap_acc_mean']:.2f} points (loss gap "
            f"{worst['gap_loss_mean']:.3f}); {least['label']} least, with "
            f"{100 * least['gap_acc_mean']:.2f} points.")


def cost(table: pd.DataFrame) -> str | None:
    ok = measured(table)
    if ok is None:
        return None
    fast = ok.loc[ok["train_seconds_mean"].idxmin()]
    slow = ok.loc[ok["train_seconds_mean"].idxmax()]
    small = ok.loc[ok["parameters_mean"].idxmin()]
    big = ok.loc[ok["parameters_mean"].idxmax()]
    return (f"Training took {fast['train_seconds_mean']:.1f} s ({fast['label']}) to "
            f"{slow['train_seconds_mean']:.1f} s ({slow['label']}); parameter counts range "
            f"from {int(small['parameters_mean']):,} ({small['label']}) to "
            f"{int(big['parameters_mean']):,} ({big['label']}).")


def efficiency(table: pd.DataFrame, tolerance: float = 0.01) -> str | None:
    """Whether a smaller model came close to the best one: the variant with the fewest
    parameters whose mean test accuracy is within ``tolerance`` (or the seed spread, if
    larger) of the best."""
    ok = measured(table)
    if ok is None:
        return None
    best = ok.loc[ok["test_acc_mean"].idxmax()]
    close = ok[best["test_acc_mean"] - ok["test_acc_mean"]
               <= max(tolerance, _spread(best))]
    lean = close.loc[close["parameters_mean"].idxmin()]
    if lean["label"] == best["label"]:
        smaller = ok[ok["parameters_mean"] < best["parameters_mean"]]
        if smaller.empty:
            return f"{best['label']} is both the most accurate and the smallest model."
        return (f"No model with fewer parameters than {best['label']} "
                f"({int(best['parameters_mean']):,}) came within {100 * tolerance:.0f} point "
                f"of its accuracy.")
    return (f"{lean['label']} came within {100 * (best['test_acc_mean'] - lean['test_acc_mean']):.2f}"
            f" points of {best['label']} with {int(lean['parameters_mean']):,} parameters, "
            f"{lean['parameters_mean'] / best['parameters_mean']:.2f}x as many.")


def best_on_validation(variants: pd.DataFrame) -> pd.Series:
    """The variant with the best mean validation accuracy: a choice made on the test split
    would report its own luck on that split as the winner's accuracy. (A build from before
    the validation split has no validation accuracy: then its test accuracy.)"""
    column = ("val_acc_mean" if "val_acc_mean" in variants
              and variants["val_acc_mean"].notna().all() else "test_acc_mean")
    return variants.loc[variants[column].idxmax()]


def conv_over_mlp(table: pd.DataFrame) -> tuple[float, str, bool, str] | None:
    """The best convolutional variant against the best fully connected one of one dataset:
    (gap in points, sentence, resolved by Welch's test, the two variants and their
    accuracies in a few words), or None without both. Told apart by each variant's kind
    (``analysis.model_kind``: the config's, else the stated rule on the layers the runs
    recorded), not by model name, so a user's own models count too and a vision
    transformer is neither."""
    ok = measured(table)
    if ok is None:
        return None
    mlps, convs = ok[ok["kind"] == "mlp"], ok[ok["kind"] == "cnn"]
    if mlps.empty or convs.empty:
        return None
    mlp, conv = best_on_validation(mlps), best_on_validation(convs)
    gap = 100 * (conv["test_acc_mean"] - mlp["test_acc_mean"])
    test = welch(conv["test_acc_values"], mlp["test_acc_values"])
    return gap, (f"CNN vs fully connected (each kind's best by validation accuracy, compared "
                 f"on the test split): the best convolutional model ({conv['label']}, "
                 f"{pct(conv['test_acc_mean'])}{_kind_given(conv)}) is {gap:+.2f} points "
                 f"against the best MLP ({mlp['label']}, {pct(mlp['test_acc_mean'])}"
                 f"{_kind_given(mlp)}) with "
                 f"{conv['parameters_mean'] / mlp['parameters_mean']:.2f}x its parameters; "
                 f"{test.describe()}."), test.resolved, \
        (f"{named(conv)} {accuracy_text(conv)} against {named(mlp)} {accuracy_text(mlp)}, "
         f"{gap:+.1f} points, {'resolved' if test.resolved else 'not resolved'}")


def _kind_given(row) -> str:
    """Where the config, not the rule, made a variant a CNN or an MLP: said beside it, so
    a reader sees which side of the comparison rests on the config's word."""
    return "; its kind set in the config" if row["kind_from"] == "config" else ""


def diverged(table: pd.DataFrame) -> str | None:
    bad = table[table["diverged"] > 0]
    if bad.empty:
        return None
    names = ", ".join(f"{r['label']} ({int(r['diverged'])} run(s))" for _, r in bad.iterrows())
    return f"Diverged (NaN or infinite loss; left out of the means): {names}."


def dataset_findings(table: pd.DataFrame) -> list[str]:
    """What the table of one study and dataset shows whatever the study asks: who won,
    who overfit most, whether a smaller model came close, what training cost, what
    diverged. What a study's questions ask (CNN vs MLP, depth, ...) is answered once, by
    ``questions``, not again here."""
    found = [winner(table), most_overfit(table), efficiency(table), cost(table),
             diverged(table)]
    return [f for f in found if f]

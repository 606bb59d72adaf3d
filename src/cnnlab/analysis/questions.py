"""The questions the studies exist for, each answered from the per-variant table
(``analysis.summary.over_seeds``) of one study and dataset, or said to be unanswerable and why.

A question is asked only where the table holds what it needs, recognized from the models
and their arguments, not from variant names: a fully connected and a convolutional model
(CNN vs MLP), ``kernel_cnn`` variants (kernel size), ``deep_cnn`` variants (depth, residual
connections, normalization, clipping), ``attention_cnn`` twins that differ only in
``implementation`` (custom layers vs built-in operations) or in one custom layer
(ablation), and ``resnet`` variants (block type). Depth has its own module
(``depth_questions``).
"""

from __future__ import annotations

import math

import pandas as pd

from cnnlab.analysis.answer import Answer, with_settings
from cnnlab.analysis.depth_questions import depth
from cnnlab.analysis.findings import (accuracy_text, best_on_validation, compare, conv_over_mlp,
                                     measured, named, pct)
from cnnlab.analysis.statistics import welch

LAYER_SWITCHES = ("gate", "swish", "squeeze_excite", "gem")
LAYER_NAMES = {"gate": "gated convolutions", "swish": "Swish-beta",
               "squeeze_excite": "squeeze-and-excitation", "gem": "GeM pooling"}


# --------------------------------------------------------------------------- task 1

def cnn_advantage_across_datasets(stats: pd.DataFrame, varied: dict[str, bool] | None = None
                                  ) -> list[Answer]:
    """Where one study's table (every dataset) compares CNNs with MLPs on several datasets:
    how the gap differs, and the reason the field gives for it when the numbers go its way;
    when they go the other way, that is said, with whether the smaller gap is resolved.
    ``varied``: whether each dataset's objects vary in position, pose and background (the
    config's ``datasets.<name>.varied_objects``; the explanation rests on it, so without it
    for both datasets only the numbers are given)."""
    varied = varied or {}
    found = {ds: f for ds, table in stats.groupby("dataset", sort=False)
             if (f := conv_over_mlp(table)) is not None}
    if len(found) < 2:
        return []
    gaps = {ds: f[0] for ds, f in found.items()}
    low, high = min(gaps, key=gaps.get), max(gaps, key=gaps.get)
    text = ("The convolutional advantage over the MLP is "
            + ", ".join(f"{gaps[ds]:+.2f} points on {ds}" for ds in gaps) + ".")
    if gaps[high] > gaps[low] and gaps[high] > 0 and not found[high][2]:
        text += (f" The larger gap, on {high}, is not resolved (Welch's test over the "
                 f"seeds): no explanation is drawn from it.")
    elif gaps[high] > gaps[low] and gaps[high] > 0:
        if varied.get(high) is True and varied.get(low) is False:
            text += (f" It is larger on {high}: its objects vary in position, pose and "
                     f"background, where a convolution's weight sharing and locality "
                     f"generalize across positions; on {low} an MLP already separates "
                     f"the classes well, leaving less to gain.")
        elif varied.get(low) is True and varied.get(high) is False:
            text += (f" It is larger on {high}, the opposite of the usual finding (weight "
                     f"sharing and locality pay most where objects vary in position, pose "
                     f"and background, as in {low}); the {low} gap is "
                     f"{'resolved' if found[low][2] else 'not resolved'}: at this scale "
                     f"its models may have trained too little to show it.")
    return [Answer("Why does the CNN's advantage differ between datasets?", [text], text)]


def cnn_vs_mlp(table: pd.DataFrame, dataset: str) -> list[Answer]:
    found = conv_over_mlp(table)
    if found is None:
        return []
    _, sentence, _, brief = found
    return [Answer(f"Does a CNN beat a fully connected network on {dataset}?", [sentence],
                   f"{dataset}: best CNN against best MLP: {brief}.")]


# --------------------------------------------------------------------------- task 2a


def kernel_tradeoff(table: pd.DataFrame) -> list[Answer]:
    """Among ``kernel_cnn`` variants: the most accurate, and the cheapest one whose
    accuracy is not resolvably below it (the trade-off)."""
    ok = measured(table[table["model"] == "kernel_cnn"])
    if ok is None:
        return []
    q = "Which kernel size is the best trade-off between accuracy and cost?"
    # The kernel the others are held against is chosen on validation (a choice between
    # settings); whether another is resolvably below it is tested on the test split.
    best = best_on_validation(ok)
    tied = [r for _, r in ok.iterrows() if r["label"] == best["label"]
            or not _resolved_below(r, best)]
    cheap = min(tied, key=lambda r: r["train_seconds_mean"])
    lines = [f"{best['label']} is the most accurate{_on_validation(best)} "
             f"({pct(best['test_acc_mean'])} on the test split, "
             f"{int(best['parameters_mean']):,} parameters, "
             f"{best['train_seconds_mean']:.1f} s of training)."]
    if cheap["label"] == best["label"]:
        head = f"{best['label']} is both the most accurate and the cheapest of the tied kernels."
        lines.append(f"No cheaper kernel came within reach: every faster variant is "
                     f"resolvably less accurate. {head}")
    else:
        head = (f"{cheap['label']} is the best trade-off: not resolvably below "
                f"{best['label']} and {best['train_seconds_mean'] / cheap['train_seconds_mean']:.2f}x"
                f" faster to train.")
        lines.append(f"{cheap['label']} ({pct(cheap['test_acc_mean'])}, "
                     f"{cheap['train_seconds_mean']:.1f} s) is not resolvably below it "
                     f"({compare(cheap, best)}) and trains "
                     f"{best['train_seconds_mean'] / cheap['train_seconds_mean']:.2f}x faster: "
                     f"the best trade-off at this parameter budget.")
    return [Answer(q, lines, head)]


def _on_validation(row) -> str:
    """How the most accurate variant was chosen, where it was chosen on validation."""
    value = row.get("val_acc_mean")
    return "" if value is None or pd.isna(value) else f" on the validation split ({pct(value)})"


def _resolved_below(row, best) -> bool:
    test = welch(row["test_acc_values"], best["test_acc_values"])
    return test.resolved and test.diff < 0


# --------------------------------------------------------------------------- task 3


def _attention(table: pd.DataFrame) -> pd.DataFrame:
    ok = with_settings(table[table["model"] == "attention_cnn"])
    # ``a`` holds every argument, the builder's defaults included (``with_settings``).
    return ok.assign(impl=ok["a"].map(lambda a: a["implementation"]),
                     on=ok["a"].map(lambda a: tuple(s for s in LAYER_SWITCHES if a[s])))


def seed_pairs(a, b) -> dict[int, tuple[float, float]]:
    """The test accuracies of two variants (rows of the per-variant table) for each seed
    both have (diverged runs are left out of either)."""
    va = dict(zip(a["test_acc_seeds"], a["test_acc_values"]))
    vb = dict(zip(b["test_acc_seeds"], b["test_acc_values"]))
    return {seed: (va[seed], vb[seed]) for seed in va if seed in vb}


def custom_equivalence(table: pd.DataFrame) -> list[Answer]:
    """Each reference-implementation variant against its custom twin (same arguments but
    ``implementation``), trained from the same initial weights and data order per seed.
    The twins are not bit-identical: the hand-written backward passes sum in another order
    than autograd's, and SGD amplifies float32 rounding differences over hundreds of steps
    (one implementation run twice with one seed *is* bit-identical). So they are called
    equal when the implementation matters less than the seed: the difference of the means
    is not resolved by Welch's test and is smaller than the seed-to-seed standard
    deviation of either implementation."""
    att = _attention(table)
    answers = []
    for _, ref in att[att["impl"] == "reference"].iterrows():
        others = {k: v for k, v in ref["a"].items() if k != "implementation"}
        twin = att[(att["impl"] == "custom")
                   & att["a"].map(lambda a: {k: v for k, v in a.items()
                                             if k != "implementation"} == others)]
        if twin.empty or ref["n"] == 0 or twin.iloc[0]["n"] == 0:
            continue
        cus = twin.iloc[0]
        test = welch(cus["test_acc_values"], ref["test_acc_values"])
        spread = max(cus["test_acc_std"], ref["test_acc_std"])
        pairs = seed_pairs(cus, ref)
        worst = max((abs(a - b) for a, b in pairs.values()), default=math.nan)
        equal = (not test.resolved and math.isfinite(spread) and abs(test.diff) < spread)
        verdict = "equal within the seed-to-seed noise" if equal else "NOT shown equal"
        lines = [
            f"{cus['label']}: {pct(cus['test_acc_mean'])}; {ref['label']}: "
            f"{pct(ref['test_acc_mean'])}, from the same initial weights and data order per "
            f"seed. Difference of the means {100 * test.diff:+.2f} points ({test.describe()}); "
            f"seed-to-seed standard deviation up to {100 * spread:.2f} points: {verdict} "
            f"(criterion: not resolved, and smaller than that deviation).",
            f"Per seed the twins differ by up to {100 * worst:.2f} points over the {len(pairs)} "
            f"seeds both trained: sums rounded in a different order in the hand-written backward passes "
            f"and, where training ran in bf16, three of the custom layers computing in float32 "
            f"where the twin follows autocast, differences SGD amplifies over the run. "
            f"Training took {cus['train_seconds_mean']:.1f} s "
            f"vs {ref['train_seconds_mean']:.1f} s "
            f"({cus['train_seconds_mean'] / ref['train_seconds_mean']:.2f}x).",
            "Layer by layer, one step at a time (gradcheck, largest differences), see the table "
            "'Custom autograd layers, verified against torch' below."]
        answers.append(Answer(
            "Do the custom autograd layers train like the same math in built-in operations?",
            lines, f"custom layers vs built-in operations end to end: {verdict} "
                   f"({100 * test.diff:+.2f} points)."))
    return answers


def ablation(table: pd.DataFrame) -> list[Answer]:
    """The baseline (no custom layer) against the baseline plus each single layer."""
    att = _attention(table)
    att = att[att["impl"] == "custom"]
    base = att[att["on"].map(len) == 0]
    singles = att[att["on"].map(len) == 1]
    if base.empty or singles.empty or base.iloc[0]["n"] == 0:
        return []
    b = base.iloc[0]
    lines, best = [f"{b['label']}: {pct(b['test_acc_mean'])}, "
                   f"{int(b['parameters_mean']):,} parameters, "
                   f"{b['train_seconds_mean']:.1f} s."], None
    for _, r in singles.iterrows():
        if r["n"] == 0:
            lines.append(f"+ {LAYER_NAMES[r['on'][0]]}: every run diverged.")
            continue
        gain = 100 * (r["test_acc_mean"] - b["test_acc_mean"])
        lines.append(f"+ {LAYER_NAMES[r['on'][0]]}: {gain:+.2f} points "
                     f"({compare(r, b)}), {int(r['parameters_mean'] - b['parameters_mean']):+,} "
                     f"parameters, {r['train_seconds_mean'] / b['train_seconds_mean']:.2f}x the "
                     f"training time.")
        if best is None or gain > best[1]:
            best = (LAYER_NAMES[r["on"][0]], gain, welch(r["test_acc_values"],
                                                         b["test_acc_values"]).resolved)
    head = (f"ablation: {best[0]} adds most, {best[1]:+.2f} points "
            f"({'resolved' if best[2] else 'not resolved'})." if best else "ablation: no layer measured.")
    return [Answer("What does each custom layer add to a plain baseline?", lines, head)]


def residual_blocks(table: pd.DataFrame) -> list[Answer]:
    ok = with_settings(table[table["model"] == "resnet"])
    ok = measured(ok)
    # Asked where the blocks differ (kind or width), not where one block is trained with
    # two recipes (Task 1's residual CNN with and without regularization).
    if ok is None or ok["a"].map(lambda a: (a["block"], a["widen"])).nunique() < 2:
        return []
    per_param = ok["test_acc_mean"] / ok["parameters_mean"]
    best = ok.loc[ok["test_acc_mean"].idxmax()]
    lean = ok.loc[per_param.idxmax()]
    calm = ok.loc[ok["grad_norm_log_var_mean"].idxmin()]
    lines = [f"{r['label']}: {pct(r['test_acc_mean'])} with {int(r['parameters_mean']):,} "
             f"parameters ({1e5 * r['test_acc_mean'] / r['parameters_mean']:.2f} points per "
             f"1,000 parameters), variance of log10 gradient norm "
             f"{r['grad_norm_log_var_mean']:.4f}, largest loss spike "
             f"{r['max_loss_spike_mean']:.3f}." for _, r in ok.iterrows()]
    second = ok.drop(best.name).sort_values("test_acc_mean").iloc[-1] if len(ok) > 1 else None
    if second is not None:
        lines.append(f"Most accurate: {best['label']}; against {second['label']}: "
                     f"{compare(best, second)}. Most accuracy per parameter: {lean['label']}. "
                     f"Steadiest gradients: {calm['label']}.")
    return [Answer("Which residual block gives the best accuracy per parameter and the most "
                   "stable training?", lines,
                   f"blocks: most accurate {named(best)} ({accuracy_text(best)}); most "
                   f"accurate per parameter {named(lean)} ({accuracy_text(lean)}, "
                   f"{int(lean['parameters_mean']):,} parameters); steadiest gradients "
                   f"{named(calm)}.")]


# --------------------------------------------------------------------------- all


def study_answers(stats: pd.DataFrame, varied: dict[str, bool] | None = None) -> list[Answer]:
    """The questions one study's whole table (all of its datasets) answers."""
    return cnn_advantage_across_datasets(stats, varied)


def answers(table: pd.DataFrame, dataset: str) -> list[Answer]:
    """Every question this study's table can answer for ``dataset``."""
    return [*cnn_vs_mlp(table, dataset), *kernel_tradeoff(table), *depth(table, dataset),
            *custom_equivalence(table), *ablation(table), *residual_blocks(table)]

"""Task 2b's questions, answered from the ``deep_cnn`` variants of a study: at each depth,
did gradients vanish, did the plain network train, what did residual connections and batch
norm change; and, for twins that differ only in gradient clipping, what clipping changed."""

from __future__ import annotations

import math

import pandas as pd

from cnnlab.analysis.answer import Answer, chance, ratio_text, with_settings
from cnnlab.analysis.findings import accuracy_text, compare, named, pct
from cnnlab.analysis.statistics import above_chance, chance_text, welch

VANISHED = 1e-2  # first/last gradient ratio below this: the signal lost 2 orders of magnitude



def _depth_families(table: pd.DataFrame) -> pd.DataFrame:
    """``deep_cnn`` variants with their depth, shortcut, normalization, init and clipping."""
    ok = with_settings(table[table["model"] == "deep_cnn"])
    if ok.empty:
        return ok
    # ``a`` holds every argument, the builder's defaults included (``with_settings``).
    return ok.assign(depth=ok["a"].map(lambda a: int(a["depth"])),
                     residual=ok["a"].map(lambda a: bool(a["residual"])),
                     norm=ok["a"].map(lambda a: bool(a["norm"])),
                     init=ok["a"].map(lambda a: a["init"]),
                     zero_init=ok["a"].map(lambda a: bool(a["zero_init_residual"])),
                     clip=ok["t"].map(lambda t: t.get("grad_clip")))


def balanced_text(row) -> str:
    """Balanced accuracy beside accuracy where the test classes are imbalanced (there,
    accuracy rewards answering the largest class); "" elsewhere."""
    if not row.get("imbalanced", False) or pd.isna(row.get("balanced_acc_mean")):
        return ""
    return f" (balanced accuracy {pct(row['balanced_acc_mean'])})"


def _family(deep: pd.DataFrame, residual: bool, norm: bool) -> dict[int, pd.Series]:
    rows = deep[(deep["residual"] == residual) & (deep["norm"] == norm)
                & (deep["init"] == "default") & deep["clip"].isna()]
    return {int(r["depth"]): r for _, r in rows.iterrows()}


def _trained(row, guess: float) -> tuple[bool, str]:
    if row["n"] == 0:
        return False, f"all {int(row['diverged'])} runs diverged"
    return above_chance(row["test_acc_values"], guess)


def _depth_line(d: int, plain, res, bn, guess: float) -> tuple[str, str]:
    """One depth: did gradients vanish, did the plain network train, what residual
    connections and batch norm changed. Returns (sentence, headline part)."""
    ratio = plain["grad_ratio_init_mean"]
    vanished = math.isfinite(ratio) and ratio < VANISHED
    learned, test = _trained(plain, guess)
    text = (f"{d} layers. Plain, no normalization: the first layer's gradient is "
            f"{ratio_text(ratio)} times the last layer's at initialization "
            f"({'vanished' if vanished else 'not vanished'}: threshold {VANISHED:g}); "
            f"test accuracy {pct(plain['test_acc_mean'])}{balanced_text(plain)}, "
            f"{'trained' if learned else 'did not train beyond chance'} ({test}).")
    head = f"{d} layers: plain {'trained' if learned else 'at chance'}"
    if res is not None:
        res_learned, _ = _trained(res, guess)
        # A branch that starts at zero passes no gradient to its first convolution at the
        # first step: the ratio at initialization is 0 by construction, so the one that
        # says whether the signal reaches the first layer is the one during training.
        ratio_res = (f"ratio during training {ratio_text(res['grad_ratio_train_mean'])} (0 "
                     f"at initialization by design: every branch starts at zero)"
                     if res["zero_init"] else f"ratio {ratio_text(res['grad_ratio_init_mean'])}")
        text += (f" Residual twin: {ratio_res}, {pct(res['test_acc_mean'])}"
                 f"{balanced_text(res)}, "
                 f"{100 * (res['test_acc_mean'] - plain['test_acc_mean']):+.2f} points "
                 f"({compare(res, plain)}).")
        head += f", residual {'trained' if res_learned else 'at chance'}"
    if bn is not None:
        text += (f" With batch norm: ratio {ratio_text(bn['grad_ratio_init_mean'])}, "
                 f"{pct(bn['test_acc_mean'])}{balanced_text(bn)}, "
                 f"{100 * (bn['test_acc_mean'] - plain['test_acc_mean']):+.2f} points "
                 f"against no normalization ({compare(bn, plain)}).")
    return text, head


def depth(table: pd.DataFrame, dataset: str) -> list[Answer]:
    deep = _depth_families(table)
    if deep.empty:
        return []
    guess = chance(dataset, table)
    plain = _family(deep, residual=False, norm=False)
    res = _family(deep, residual=True, norm=False)
    bn = _family(deep, residual=False, norm=True)
    answers = []
    if len(plain) >= 2:
        lines, heads = [], []
        for d in sorted(plain):
            text, head = _depth_line(d, plain[d], res.get(d), bn.get(d), guess)
            lines.append(text)
            heads.append(head)
        answers.append(Answer(
            "Do gradients vanish with depth, does the plain network still train, and what "
            "do residual connections and batch norm change?", lines,
            "; ".join(heads) + f" ({chance_text(guess)})."))
    answers += clipping(deep)
    return answers


def clipping(deep: pd.DataFrame) -> list[Answer]:
    """Pairs of variants identical but for gradient clipping."""
    answers = []
    clipped = deep[deep["clip"].notna()]
    for _, c in clipped.iterrows():
        twins = deep[deep["clip"].isna() & (deep["args"] == c["args"])]
        twins = twins[twins["t"].map(lambda t: {**t, "grad_clip": None})
                      == {**c["t"], "grad_clip": None}]
        if twins.empty:
            continue
        u = twins.iloc[0]
        lost = ("diverged in all its runs" if u["n"] == 0 else
                f"reached {pct(u['test_acc_mean'])}"
                + (f" ({int(u['diverged'])} run(s) diverged)" if u["diverged"] else ""))
        line = (f"{u['label']}: total gradient norm at initialization "
                f"{u['grad_norm_init_mean']:.3g} (recorded before clipping); without clipping "
                f"it {lost}, loss spikes up to {u['max_loss_spike_mean']:.2f}. Clipping the "
                f"global norm to {c['clip']:g}: {pct(c['test_acc_mean'])}, loss spikes up to "
                f"{c['max_loss_spike_mean']:.2f}")
        if u["n"] > 0 and c["n"] > 0:
            diff = 100 * (c["test_acc_mean"] - u["test_acc_mean"])
            line += f"; clipping changed test accuracy by {diff:+.2f} points ({compare(c, u)})."
            verdict = "resolved" if welch(c["test_acc_values"], u["test_acc_values"]).resolved \
                else "not resolved"
            head = (f"clipping: {named(c)} {accuracy_text(c)} against {named(u)} "
                    f"{accuracy_text(u)}, {diff:+.1f} points, {verdict}.")
        else:
            line += "."
            head = f"clipping kept {named(c)} from diverging." if c["n"] else \
                "clipping did not prevent divergence."
        answers.append(Answer("Does gradient clipping help where gradients explode?",
                              [line], head))
    return answers

"""The learning curves (``curve.csv``) of the two builds, one panel per variant, drawn for
the variants whose settings changed: where a difference comes from is easier to see in
how the runs trained than in one final number."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from cnnlab.analysis.build import Build  # noqa: E402
from cnnlab.analysis.comparison import VariantComparison  # noqa: E402

COLORS = {"baseline": "#8c8c8c", "current": "#1f77b4"}


# A build before the validation split measured its curves on test images: two builds'
# curves are drawn together only where both measured them on the same split.
CURVE_SPLITS = {"val_acc": "validation", "test_acc": "test"}


def curve_column(tables) -> str | None:
    """The accuracy column every one of ``tables`` (curve.csv) has, validation first."""
    return next((c for c in CURVE_SPLITS if all(c in t for t in tables)), None)


def variant_curves(build: Build, variant: VariantComparison) -> pd.DataFrame:
    """Every seed's curve.csv of one variant, with a ``seed`` column."""
    s = build.summary
    runs = s[(s["study"] == variant.study) & (s["dataset"] == variant.dataset)
             & (s["variant"] == variant.variant)]
    return pd.concat([build.table(row, "curve.csv").assign(seed=row["seed"])
                      for _, row in runs.iterrows()], ignore_index=True)


def draw(baseline: Build, current: Build, variants: list[VariantComparison],
         path) -> Path | None:
    """Curve accuracy against epoch, each seed thin and the mean over seeds thick, baseline
    grey and current blue; one panel per variant where both builds measured their curves on
    the same split. None when there is nothing to draw."""
    panels = [(v, {"baseline": variant_curves(baseline, v), "current": variant_curves(current, v)})
              for v in variants]
    panels = [(v, c, column) for v, c in panels if (column := curve_column(c.values()))]
    if not panels:
        return None
    sns.set_theme(style="whitegrid", context="notebook")
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.4 * rows), squeeze=False)
    for ax, (v, curves, column) in zip(axes.flat, panels):
        for side, table in curves.items():
            for _, seed in table.groupby("seed"):
                ax.plot(seed["epoch"], 100 * seed[column], color=COLORS[side],
                        alpha=0.3, linewidth=0.8)
            mean = table.groupby("epoch", as_index=False)[column].mean()
            ax.plot(mean["epoch"], 100 * mean[column], color=COLORS[side],
                    linewidth=2, label=side)
        # The change under the name: what the reader compares the two curves for.
        changed = "; ".join(v.changes) or "no setting changed"
        ax.set_title(f"{v.study}/{v.dataset}: {v.label}\n{changed[:60]}", fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"curve {CURVE_SPLITS[column]} accuracy (%)")
        ax.legend(fontsize=8, loc="lower right")
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path

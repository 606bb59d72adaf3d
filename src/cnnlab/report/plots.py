"""Figures. Each function takes tidy tables and writes one PNG; nothing here trains or reads
config, so editing a plot redraws figures without retraining."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from seaborn.utils import relative_luminance  # noqa: E402

sns.set_theme(style="whitegrid", context="notebook")


def _save(fig, path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def learning_curves(histories: pd.DataFrame, path, title: str = "") -> None:
    """``histories``: curve.csv (or history.csv) rows with ``dataset``, ``label`` and ``seed``
    columns; ``epoch`` may be fractional.
    One row of panels per dataset (loss, accuracy), each dataset on its own epoch axis
    (datasets train for different numbers of epochs); solid train, dashed validation (the
    images carved from the training split, never trained on); the band is the spread over
    seeds."""
    long = histories.melt(id_vars=["dataset", "label", "seed", "epoch"],
                          value_vars=["train_loss", "val_loss", "train_acc", "val_acc"])
    long[["split", "measure"]] = long["variable"].str.split("_", n=1, expand=True)
    long["split"] = long["split"].map({"train": "train", "val": "validation"})
    long["measure"] = long["measure"].map({"loss": "loss", "acc": "accuracy"})
    grid = sns.relplot(data=long, x="epoch", y="value", hue="label", style="split",
                       row="dataset", col="measure", kind="line", errorbar="sd",
                       style_order=["train", "validation"], markers=True, dashes=True,
                       facet_kws={"sharey": False, "sharex": "row"}, height=3.0, aspect=1.4)
    grid.set_titles("{row_name} - {col_name}")
    grid.set_axis_labels("epoch", "")
    if title:
        grid.figure.suptitle(title, y=1.02)
    _save(grid.figure, path)


# Beyond this many classes a matrix is unreadable (CIFAR-100's 100 x 100): the figure shows
# each variant's most confused pairs instead.
MATRIX_CLASSES = 20
PAIRS_SHOWN = 15


def confusion(matrices: dict[str, pd.DataFrame], path, title: str = "") -> None:
    """One heatmap per variant (label -> counts, true classes in rows), each row normalized
    to the share of its true class, annotated in percent; up to 4 per row of panels. With
    more than ``MATRIX_CLASSES`` classes, each variant's most confused pairs instead."""
    n = len(next(iter(matrices.values())))
    figure = confusion_figure if n <= MATRIX_CLASSES else confused_pairs_figure
    _save(figure(matrices, title), path)


def most_confused(matrix: pd.DataFrame, k: int = PAIRS_SHOWN) -> pd.Series:
    """The ``k`` largest off-diagonal shares (percent of the true class's images), indexed
    "true -> predicted", largest first."""
    share = matrix.div(matrix.sum(axis=1).replace(0, np.nan), axis=0) * 100
    values = share.to_numpy(copy=True)
    np.fill_diagonal(values, np.nan)
    flat = pd.Series(values.ravel(), index=[f"{t} \u2192 {p}" for t in share.index
                                            for p in share.columns]).dropna()
    return flat[flat > 0].nlargest(k)


def confused_pairs_figure(matrices: dict[str, pd.DataFrame], title: str = "") -> plt.Figure:
    """Per variant, a bar per most confused pair (true -> predicted, share of the true
    class's images); up to 3 panels per row."""
    cols = min(3, len(matrices))
    rows = -(-len(matrices) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 5.2, rows * 4.2), squeeze=False,
                             layout="constrained")
    for ax, (label, matrix) in zip(axes.flat, matrices.items()):
        pairs = most_confused(matrix)
        ax.barh(range(len(pairs)), pairs.to_numpy(), color="#4878a8")
        ax.set_yticks(range(len(pairs)), list(pairs.index), fontsize=7)
        ax.invert_yaxis()  # the most confused pair on top
        ax.set_xlabel("% of the true class's test images")
        ax.set_title(f"{label}: {len(pairs)} most confused of {len(matrix)} classes", fontsize=9)
    for ax in list(axes.flat)[len(matrices):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig


def confusion_figure(matrices: dict[str, pd.DataFrame], title: str = "") -> plt.Figure:
    """``confusion``'s figure, not yet saved. Drawn with ``imshow`` rather than
    ``seaborn.heatmap``: seaborn draws the whole figure once per heatmap (to check its tick
    labels), which made a 15-panel grid take a minute on a laptop CPU."""
    cols = min(4, len(matrices))
    rows = -(-len(matrices) // cols)
    n = len(next(iter(matrices.values())))
    size = 1.0 + 0.42 * n
    fig, axes = plt.subplots(rows, cols, figsize=(cols * (size + 0.6), rows * (size + 0.5)),
                             squeeze=False, layout="constrained")
    cmap = plt.get_cmap("Blues")
    for ax, (label, matrix) in zip(axes.flat, matrices.items()):
        share = (matrix.div(matrix.sum(axis=1).replace(0, np.nan), axis=0) * 100).to_numpy()
        ax.imshow(share, cmap=cmap, vmin=0, vmax=100)
        for (i, j), value in np.ndenumerate(share):
            if np.isfinite(value):
                # Black on light cells, white on dark ones, as seaborn's heatmap decides.
                dark = relative_luminance(cmap(value / 100)) <= 0.408
                ax.text(j, i, f"{value:.0f}", ha="center", va="center", fontsize=6,
                        color="white" if dark else "black")
        ax.set_xticks(range(n), [str(c) for c in matrix.columns], fontsize=7,
                      rotation=90 if n > 10 or max(len(str(c)) for c in matrix.columns) > 2
                      else 0)
        ax.set_yticks(range(n), [str(c) for c in matrix.index], fontsize=7)
        ax.grid(False)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(label, fontsize=9)
    for ax in list(axes.flat)[len(matrices):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig


def comparison(summary: pd.DataFrame, path, title: str = "") -> None:
    """Test accuracy against parameters and against training time: one point per run,
    colour per model variant, one marker per dataset. (Inference latency is a column of
    the report's tables, measured apart from training by the latency rule.)"""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained")
    common = dict(data=summary, hue="label", style="dataset", s=70)
    sns.scatterplot(x="parameters", y="test_acc", ax=axes[0], **common)
    axes[0].set_xscale("log")
    axes[0].set_title("accuracy vs parameters")
    sns.scatterplot(x="train_seconds", y="test_acc", ax=axes[1], legend=False, **common)
    axes[1].set_title("accuracy vs training time")
    axes[1].set_xlabel("training seconds")
    for ax in axes:
        ax.set_ylabel("test accuracy")
    # One legend (colour: variant, marker: dataset) for both scatter plots, outside them.
    handles, labels = axes[0].get_legend_handles_labels()
    axes[0].get_legend().remove()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(8, len(labels)),
               frameon=False)
    if title:
        fig.suptitle(title)
    _save(fig, path)


def sweep(summary: pd.DataFrame, path, title: str = "") -> None:
    """Validation accuracy against each swept value (a value picked from it is picked on
    images no run trained on, and not on the test split): one panel per swept setting, a line per
    base variant (and combination of the other swept values), mean and 95% interval over
    seeds. A numeric key spanning more than 10x gets a log axis (learning rates, depths)."""
    points = summary[summary["sweep_values"].fillna("") != ""]
    values = pd.DataFrame([json.loads(v) for v in points["sweep_values"]], index=points.index)
    keys = list(values.columns)
    fig, axes = plt.subplots(1, len(keys), figsize=(6 * len(keys), 4.2), squeeze=False,
                             layout="constrained")
    for ax, key in zip(axes[0], keys):
        here = values[key].notna()
        others = [k for k in keys if k != key]
        runs = points[here].assign(
            x=values.loc[here, key].map(_axis_value),
            line=[", ".join([base, *(f"{k}={v[k]}" for k in others if pd.notna(v[k]))])
                  for base, (_, v) in zip(points.loc[here, "sweep_base"],
                                          values[here].iterrows())])
        numeric = pd.api.types.is_numeric_dtype(runs["x"])
        sns.lineplot(data=runs, x="x", y="val_acc", hue="line", marker="o",
                     errorbar=("ci", 95), ax=ax)
        if numeric and runs["x"].min() > 0 and runs["x"].max() / runs["x"].min() > 10:
            whole = all(float(v).is_integer() for v in runs["x"])
            ax.set_xscale("log", base=2 if whole else 10)
        ax.set_xlabel(key)
        ax.set_ylabel("validation accuracy")
        ax.legend(title="")
    if title:
        fig.suptitle(title)
    _save(fig, path)


def _axis_value(value):
    """A swept value as a plot position: numbers as they are, anything else as text."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def gradient_flow(grad_norms: pd.DataFrame, path, title: str = "") -> None:
    """``grad_norms``: grad_norms.csv rows with ``label`` and ``seed`` columns.
    Left: median gradient norm of each weight layer over training, by the layer's relative
    depth (0 = input side, 1 = output side), so models of different depth share an axis;
    a falling line towards 0 is the vanishing-gradient signature. Right: the first and the
    last layer's norm over training steps."""
    frame = grad_norms.copy()
    order = frame.drop_duplicates(["label", "layer"])[["label", "layer"]]
    order["index"] = order.groupby("label", sort=False).cumcount()
    order["depth"] = order["index"] / order.groupby("label")["index"].transform("max").clip(lower=1)
    frame = frame.merge(order, on=["label", "layer"])
    per_layer = frame.groupby(["label", "seed", "depth"], sort=False)["norm"].median().reset_index()
    ends = frame[(frame["depth"] == 0) | (frame["depth"] == 1)].copy()
    ends["layer"] = np.where(ends["depth"] == 0, "first layer", "last layer")

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2))
    sns.lineplot(data=per_layer, x="depth", y="norm", hue="label", marker="o", ax=axes[0],
                 errorbar=None)
    axes[0].set(yscale="log", xlabel="relative depth of the layer (0 = input)",
                ylabel="median gradient norm", title="gradient norm by layer")
    sns.lineplot(data=ends, x="step", y="norm", hue="label", style="layer", ax=axes[1],
                 errorbar=None, legend=False)
    axes[1].set(yscale="log", xlabel="training step", ylabel="gradient norm",
                title="first (solid) and last (dashed) layer over training")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)


def stability(steps: pd.DataFrame, path, title: str = "") -> None:
    """``steps``: steps.csv rows with ``label`` and ``seed`` columns. The batch loss and
    the total gradient norm at every logged step; bands are the spread over seeds, so
    spikes and unsteady gradients stand out."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2), layout="constrained")
    sns.lineplot(data=steps, x="step", y="loss", hue="label", errorbar="sd", ax=axes[0])
    axes[0].set(xlabel="training step", ylabel="batch loss", title="loss")
    sns.lineplot(data=steps, x="step", y="grad_norm", hue="label", errorbar="sd", ax=axes[1],
                 legend=False)
    axes[1].set(yscale="log", xlabel="training step", ylabel="total gradient norm",
                title="gradient norm")
    if title:
        fig.suptitle(title)
    _save(fig, path)


def receptive_field_grid(fields: list[tuple[str, np.ndarray, int]], path, title: str = "") -> None:
    """``fields``: (label, effective receptive field H x W, theoretical receptive field)."""
    fig, axes = plt.subplots(1, len(fields), figsize=(3.2 * len(fields), 3.4),
                             layout="constrained", squeeze=False)
    for ax, (label, field, theory) in zip(axes[0], fields):
        ax.imshow(field, cmap="magma", vmin=0, vmax=1)
        h, w = field.shape
        half = theory / 2  # the theoretical field, centred, for comparison
        ax.add_patch(plt.Rectangle((w / 2 - half - 0.5, h / 2 - half - 0.5), theory, theory,
                                   fill=False, ec="cyan", lw=1.2, ls="--"))
        ax.set_title(f"{label}\n(theoretical {theory} px, dashed)", fontsize=9)
        ax.set_xticks([]), ax.set_yticks([])
    if title:
        fig.suptitle(title)
    _save(fig, path)


def _normalize(a: np.ndarray) -> np.ndarray:
    lo, hi = a.min(), a.max()
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def first_layer_grid(rows: list[tuple[str, np.ndarray, np.ndarray]], path, title: str = "",
                     filters: int = 8, maps: int = 6) -> None:
    """``rows``: (label, first-layer weights C_out x C_in x k x k, activations of one image
    C_out x H x W). Each row: ``filters`` learned filters, then ``maps`` feature maps."""
    fig, axes = plt.subplots(len(rows), filters + maps, squeeze=False,
                             figsize=(1.3 * (filters + maps), 1.5 * len(rows)),
                             layout="constrained")
    for r, (label, weights, acts) in enumerate(rows):
        for c in range(filters + maps):
            ax = axes[r][c]
            ax.set_xticks([]), ax.set_yticks([])
            if c < filters and c < len(weights):
                w = weights[c]
                image = _normalize(w.transpose(1, 2, 0)) if w.shape[0] == 3 else _normalize(w[0])
                ax.imshow(image, cmap=None if w.shape[0] == 3 else "gray")
            elif c >= filters and c - filters < len(acts):
                ax.imshow(acts[c - filters], cmap="viridis")
        axes[r][0].set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    axes[0][0].set_title("filters", fontsize=9, loc="left")
    axes[0][filters].set_title("activations (one image)", fontsize=9, loc="left")
    if title:
        fig.suptitle(title)
    _save(fig, path)


def feature_map_grid(rows: list[tuple[str, list[np.ndarray]]], image: np.ndarray, path,
                     title: str = "") -> None:
    """``rows``: (label, mean |activation| map after each stage). The input image is
    shown first; deeper maps are smaller."""
    cols = 1 + max(len(maps) for _, maps in rows)
    fig, axes = plt.subplots(len(rows), cols, squeeze=False, figsize=(1.6 * cols, 1.7 * len(rows)),
                             layout="constrained")
    for r, (label, maps) in enumerate(rows):
        for c in range(cols):
            ax = axes[r][c]
            ax.set_xticks([]), ax.set_yticks([])
            if c == 0:
                ax.imshow(_normalize(image.transpose(1, 2, 0)) if image.shape[0] == 3
                          else image[0], cmap=None if image.shape[0] == 3 else "gray")
            elif c - 1 < len(maps):
                ax.imshow(maps[c - 1], cmap="viridis")
                ax.set_title(f"stage {c}", fontsize=8)
            else:
                ax.axis("off")  # a shallower model has fewer stages
        axes[r][0].set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title)
    _save(fig, path)


def probe_figure(kind: str, rows: list[tuple], image: np.ndarray, path, title: str = "") -> None:
    """The figure of probe ``kind`` (``probes.probe``) for ``rows`` of (label, *probe);
    ``image``: the first test image (H x W x C or C x H x W floats in [0, 1])."""
    if kind == "receptive_field":
        receptive_field_grid(rows, path, title=title)
    elif kind == "first_layer":
        first_layer_grid(rows, path, title=title)
    elif kind == "feature_maps":
        feature_map_grid(rows, image, path, title=title)
    else:
        raise ValueError(f"unknown probe {kind!r}; probes: receptive_field, first_layer, "
                         f"feature_maps")

"""Every figure function draws what its tables say: the confusion grid's cell labels, and
for each other kind the panels, axes and points (the figure is taken as it is saved)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cnnlab.report import plots
from cnnlab.report.plots import confusion_figure


def counts(rows: list[list[int]]) -> pd.DataFrame:
    classes = ["cat", "dog", "ship"]
    return pd.DataFrame(rows, index=pd.Index(classes, name="true"), columns=classes)


def test_confusion_grid_shows_each_true_class_share_in_percent():
    matrices = {"a": counts([[8, 2, 0], [1, 1, 0], [0, 0, 0]]),
                "b": counts([[0, 0, 5], [0, 4, 0], [3, 0, 1]])}
    fig = confusion_figure(matrices, title="s / d")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["a", "b"]
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t
             for t in panels[0].texts}
    # Rows are shares of the true class: 8 of 10 cats -> 80, 1 of 2 dogs -> 50; the empty
    # row (no ships in the test subset) has no shares to show.
    assert texts[(0, 0)].get_text() == "80" and texts[(0, 1)].get_text() == "20"
    assert texts[(1, 0)].get_text() == "50" and (2, 0) not in texts
    # Readable on its cell: white on the darkest, black on the lightest.
    assert texts[(0, 0)].get_color() == "white" and texts[(0, 2)].get_color() == "black"
    assert [t.get_text() for t in panels[0].get_yticklabels()] == ["cat", "dog", "ship"]
    image = panels[1].images[0].get_array()
    assert np.allclose(image[2], [75, 0, 25]) and image.shape == (3, 3)


def test_every_figure_caption_says_what_to_look_at():
    """A caption describes the figure and then what a reader should look for in it."""
    from cnnlab.report.figure_kinds import KINDS

    for name, kind in KINDS.items():
        assert ". Look " in kind.caption, name


# --------------------------------------------------------------------------- every figure


@pytest.fixture
def drawn(monkeypatch, tmp_path):
    """The figure a plot function saved (its PNG is written too, and checked)."""
    figures = []
    save = plots._save

    def keep(fig, path):
        figures.append(fig)
        save(fig, path)
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    monkeypatch.setattr(plots, "_save", keep)
    return figures


def panels(fig):
    return [ax for ax in fig.axes if ax.get_visible() and ax.has_data()]


def test_learning_curves_panel_per_dataset_and_measure_line_per_variant(drawn, tmp_path):
    rows = [{"dataset": ds, "label": lab, "seed": s, "epoch": e, "train_loss": 1 / e,
             "val_loss": 1.2 / e, "train_acc": 0.5 + e / 10, "val_acc": 0.4 + e / 10}
            for ds in ("mnist", "cifar10") for lab in ("A", "B") for s in (0, 1)
            for e in (1, 2, 3)]
    plots.learning_curves(pd.DataFrame(rows), tmp_path / "c.png")
    axes = panels(drawn[0])
    assert sorted(ax.get_title() for ax in axes) == [
        "cifar10 - accuracy", "cifar10 - loss", "mnist - accuracy", "mnist - loss"]
    mnist_acc = next(ax for ax in axes if ax.get_title() == "mnist - accuracy")
    # Two variants x (train, validation): four lines, each the seed mean at every epoch.
    lines = [ln for ln in mnist_acc.get_lines() if len(ln.get_xdata()) == 3]
    assert len(lines) == 4
    legend = [t.get_text() for t in drawn[0].legends[0].get_texts()]
    assert "validation" in legend and "test" not in legend
    assert sorted(round(y, 2) for y in lines[0].get_ydata()) in (
        [0.6, 0.7, 0.8], [0.5, 0.6, 0.7])


def test_comparison_one_point_per_run_on_a_log_parameter_axis(drawn, tmp_path):
    summary = pd.DataFrame({"label": ["A", "A", "B", "B"], "dataset": ["mnist"] * 4,
                            "parameters": [100, 100, 10_000, 10_000],
                            "test_acc": [0.9, 0.91, 0.95, 0.96],
                            "train_seconds": [1.0, 1.1, 5.0, 5.2]})
    plots.comparison(summary, tmp_path / "c.png")
    left, right = drawn[0].axes[:2]
    assert left.get_xscale() == "log"
    points = left.collections[0].get_offsets()
    assert len(points) == 4 and sorted(points[:, 1].round(2)) == [0.9, 0.91, 0.95, 0.96]
    assert sorted(right.collections[0].get_offsets()[:, 0].round(1)) == [1.0, 1.1, 5.0, 5.2]


def test_sweep_puts_swept_values_on_the_axis_log_when_they_span_decades(drawn, tmp_path):
    # Test accuracy is there too, and is not what a sweep shows: a value picked from the
    # figure would then be tuned on the test set.
    rows = [{"label": f"r-lr{lr}", "sweep_base": "R", "val_acc": 0.5 + lr + s / 100,
             "test_acc": 0.2, "sweep_values": json.dumps({"lr": lr}), "seed": s}
            for lr in (0.01, 0.1, 0.3) for s in (0, 1)]
    rows.append({"label": "plain", "sweep_base": "", "val_acc": 0.1, "test_acc": 0.1,
                 "sweep_values": "", "seed": 0})
    plots.sweep(pd.DataFrame(rows), tmp_path / "s.png")
    ax, = panels(drawn[0])
    assert ax.get_xlabel() == "lr" and ax.get_xscale() == "log"
    assert ax.get_ylabel() == "validation accuracy"
    line = ax.get_lines()[0]
    assert list(line.get_xdata()) == [0.01, 0.1, 0.3]  # the plain variant is not a point
    assert list(np.round(line.get_ydata(), 3)) == [0.515, 0.605, 0.805]


def test_gradient_flow_places_layers_by_relative_depth(drawn, tmp_path):
    rows = [{"label": lab, "seed": 0, "step": step, "layer": f"l{i}",
             "norm": 10.0 ** (i - n + 1)}
            for lab, n in (("deep", 5), ("shallow", 2)) for i in range(n) for step in (0, 20)]
    plots.gradient_flow(pd.DataFrame(rows), tmp_path / "g.png")
    by_layer = drawn[0].axes[0]
    assert by_layer.get_yscale() == "log"
    depths = {tuple(np.round(ln.get_xdata(), 2)) for ln in by_layer.get_lines()
              if len(ln.get_xdata()) > 1}
    assert depths == {(0.0, 0.25, 0.5, 0.75, 1.0), (0.0, 1.0)}


def test_stability_shows_loss_and_log_gradient_norm_per_variant(drawn, tmp_path):
    steps = pd.DataFrame([{"label": lab, "seed": s, "step": st, "loss": 2.0 - st / 100,
                           "grad_norm": 1.0 + st} for lab in ("A", "B") for s in (0, 1)
                          for st in (0, 20, 40)])
    plots.stability(steps, tmp_path / "s.png")
    loss, grad = drawn[0].axes[:2]
    assert grad.get_yscale() == "log" and loss.get_title() == "loss"
    assert len([ln for ln in loss.get_lines() if len(ln.get_xdata()) == 3]) == 2


@pytest.mark.parametrize("kind", ["receptive_field", "first_layer", "feature_maps"])
def test_probe_figures_have_a_row_or_panel_per_variant(drawn, tmp_path, kind):
    rng = np.random.default_rng(0)
    if kind == "receptive_field":
        rows = [("A", rng.random((32, 32)), 5), ("B", rng.random((32, 32)), 11)]
    elif kind == "first_layer":
        rows = [(lab, rng.random((8, 3, 3, 3)), rng.random((8, 16, 16))) for lab in "AB"]
    else:
        rows = [("A", [rng.random((16, 16)), rng.random((8, 8))]), ("B", [rng.random((16, 16))])]
    plots.probe_figure(kind, rows, rng.random((3, 32, 32)), tmp_path / "p.png")
    fig = drawn[0]
    if kind == "receptive_field":
        assert [ax.get_title().split("\n")[0] for ax in fig.axes] == ["A", "B"]
        assert "theoretical 11 px" in fig.axes[1].get_title()
    else:
        labels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
        assert labels == ["A", "B"]
        images = [len(ax.images) for ax in fig.axes]
        if kind == "feature_maps":  # input + 2 stages for A, input + 1 for B
            assert images == [1, 1, 1, 1, 1, 0]
        else:
            assert sum(images) == 2 * (8 + 6)


def test_an_unknown_probe_kind_is_an_error_not_feature_maps(drawn, tmp_path):
    with pytest.raises(ValueError, match="unknown probe 'saliency'"):
        plots.probe_figure("saliency", [("A", [np.zeros((4, 4))])], np.zeros((3, 8, 8)),
                           tmp_path / "p.png")
    assert not drawn and not (tmp_path / "p.png").exists()


def test_confusion_at_many_classes_shows_the_most_confused_pairs(drawn, tmp_path):
    """A 100 x 100 grid is unreadable: each variant's 15 most confused pairs instead."""
    classes = [f"c{i}" for i in range(100)]
    counts = np.eye(100, dtype=int) * 50
    counts[3, 7] = 30  # 30 of c3's 80 images went to c7: the most confused pair
    counts[5, 2] = 10
    matrix = pd.DataFrame(counts, index=classes, columns=classes)
    assert list(plots.most_confused(matrix).index[:2]) == ["c3 \u2192 c7", "c5 \u2192 c2"]
    assert plots.most_confused(matrix).iloc[0] == pytest.approx(100 * 30 / 80)
    plots.confusion({"A": matrix, "B": matrix}, tmp_path / "c.png")
    axes = [ax for ax in drawn[0].axes if ax.get_visible()]
    assert len(axes) == 2 and not axes[0].images  # bars, not a heatmap
    assert [t.get_text() for t in axes[0].get_yticklabels()][0] == "c3 \u2192 c7"
    assert "2 most confused of 100 classes" in axes[0].get_title()

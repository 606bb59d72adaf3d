import json
import math

import pandas as pd
import pytest

from cnnlab.analysis import findings, questions
from cnnlab.report.render import build_context, md_escape, render
from cnnlab.analysis.summary import over_seeds
from conftest import REPO

TEMPLATES = REPO / "workflow" / "templates"
DATA = {"dataset": "mnist", "source": "mirror /m", "train": 60000, "test": 10000,
        "prepared_sha256": "ab" * 32, "source_sha256": {"t10k-labels-idx1-ubyte.gz": "cd" * 32}}


def summary_frame(accs: dict[str, list[float]], labels=None) -> pd.DataFrame:
    """A summary.csv-like table: one row per (variant, seed) with the given test accuracies."""
    rows = []
    for variant, values in accs.items():
        for seed, acc in enumerate(values):
            rows.append({"study": "s", "dataset": "mnist", "variant": variant,
                         "label": (labels or {}).get(variant, variant), "model": "mlp",
                         "args": "{}", "receptive_fields": "", "kind": "mlp",
                         "kind_from": "rule",
                         "layers": "2 linear (100, 10)",
                         "training": json.dumps({"lr": 0.1, "batch_size": 32, "epochs": 1,
                                                 "grad_clip": None}),
                         "seed": seed, "parameters": 1000, "train_acc": min(1.0, acc + 0.01),
                         "test_acc": acc, "train_loss": 0.1, "test_loss": 0.2,
                         "gap_acc": min(1.0, acc + 0.01) - acc, "gap_loss": 0.1,
                         "train_seconds": 2.0, "latency_ms": 0.5, "throughput": 900.0,
                         "epochs_completed": 1, "diverged": False, "diverged_epoch": None,
                         "max_loss_spike": 0.1, "grad_norm_log_var": 0.01,
                         "grad_norm_init": 1.0, "grad_ratio_init": 0.5,
                         "grad_ratio_train": 0.5,
                         "epochs": 1, "lr": 0.1, "batch_size": 32, "train_size": 100,
                         "synthetic": True, "device": "cpu", "device_name": "test CPU",
                         "precision": "fp32", "deterministic": False,
                         "torch_version": "x",
                         "git_commit": "abc"})
    return pd.DataFrame(rows)


def test_over_seeds_mean_std_n_in_config_order():
    stats = over_seeds(summary_frame({"b": [0.9, 0.8], "a": [0.5]}))
    assert list(stats["variant"]) == ["b", "a"]
    b = stats.iloc[0]
    assert b["test_acc_mean"] == pytest.approx(0.85)
    assert b["test_acc_std"] == pytest.approx(0.0707107, rel=1e-5)  # ddof=1
    assert b["n"] == 2 and math.isnan(stats.iloc[1]["test_acc_std"])
    # 95% interval with n = 2: t(0.975, 1) = 12.706 times the standard error.
    assert b["test_acc_ci"] == pytest.approx(12.7062 * 0.0707107 / math.sqrt(2), rel=1e-4)
    assert b["test_acc_values"] == [0.9, 0.8]
    assert math.isnan(stats.iloc[1]["test_acc_ci"])


def test_over_seeds_leaves_diverged_runs_out():
    frame = summary_frame({"a": [0.9, 0.1]})
    frame.loc[1, "diverged"] = True
    stats = over_seeds(frame)
    assert stats.iloc[0]["test_acc_mean"] == pytest.approx(0.9)
    assert stats.iloc[0]["n"] == 1 and stats.iloc[0]["diverged"] == 1


def test_winner_follows_the_numbers_and_welch_s_test():
    clear = findings.winner(over_seeds(summary_frame({"a": [0.90, 0.91, 0.92],
                                                       "b": [0.80, 0.81, 0.82]})))
    assert clear.startswith("a has the best") and "10.00 points ahead of b" in clear
    assert "n = 3 and 3 seeds: resolved" in clear
    flipped = findings.winner(over_seeds(summary_frame({"a": [0.70, 0.71], "b": [0.80, 0.81]})))
    assert flipped.startswith("b has the best")
    close = findings.winner(over_seeds(summary_frame({"a": [0.80, 0.90], "b": [0.84, 0.85]})))
    assert close.endswith("n = 2 and 2 seeds: not resolved.")
    single = findings.winner(over_seeds(summary_frame({"a": [0.9], "b": [0.8]})))
    assert "too few for a test, so not resolved" in single
    flat = findings.winner(over_seeds(summary_frame({"a": [1.0, 1.0], "b": [1.0, 1.0]})))
    assert "n = 2 and 2 seeds: no seed-to-seed spread to test against, so not resolved" in flat


def test_welch_test_and_intervals_match_the_textbook():
    from cnnlab.analysis.statistics import ci_half_width, welch

    # Welch: a = 1,2,3 vs b = 4,5,6: difference -3, standard error sqrt(1/3 + 1/3),
    # t = -3.674 with 4 degrees of freedom, two-sided p = 0.0213; t(0.975, 4) = 2.7764.
    c = welch([1, 2, 3], [4, 5, 6])
    assert c.diff == pytest.approx(-3) and c.p == pytest.approx(0.02131, rel=1e-3)
    half = 2.7764 * math.sqrt(2 / 3)
    assert (c.low, c.high) == (pytest.approx(-3 - half, rel=1e-4), pytest.approx(-3 + half, rel=1e-4))
    assert c.resolved and (c.n_a, c.n_b) == (3, 3)
    assert not welch([1, 2, 3], [1.5, 2.5, 3.5]).resolved
    assert math.isnan(welch([1], [2, 3]).p) and not welch([1], [2, 3]).resolved
    assert ci_half_width([1, 2, 3]) == pytest.approx(2.4841, rel=1e-4)  # 4.3027 * 1 / sqrt(3)


def test_report_tables_hold_the_numbers_and_escape_html(tmp_path):
    summary = summary_frame({"x": [0.9, 0.8], "y": [0.5, 0.6]}, labels={"x": "<b>x</b>"})
    studies = {"s": {"title": "Study <i>S</i>", "datasets": {"mnist": {}}}}
    figure_set = {"s_learning_curves": {"kind": "learning_curves", "study": "s"},
                  "s_comparison": {"kind": "comparison", "study": "s"},
                  "s_mnist_gradient_flow": {"kind": "gradient_flow", "study": "s",
                                            "dataset": "mnist"},
                  "s_mnist_stability": {"kind": "stability", "study": "s", "dataset": "mnist"}}
    context = build_context(summary, studies, figure_set, "smoke", [DATA])
    for name in ("s_learning_curves", "s_comparison", "s_mnist_gradient_flow", "s_mnist_stability"):
        (tmp_path / f"{name}.png").write_bytes(b"png")
    figures = [tmp_path / f"{n}.png" for n in ("s_learning_curves", "s_comparison",
                                               "s_mnist_gradient_flow", "s_mnist_stability")]
    out = tmp_path / "report"
    render(context, TEMPLATES, out / "r.md", out / "r.html", figures,
           standalone_path=out / "one.html")
    html = (out / "r.html").read_text()
    md = (out / "r.md").read_text()
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "Study &lt;i&gt;S&lt;/i&gt;" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in md and "<b>x</b>" not in md
    assert "85.00 ± 63.53" in md and "55.00 ± 63.53" in html  # 95% CI half-widths, n = 2
    assert (out / "figures" / "s_comparison.png").read_bytes() == b"png"
    assert 'src="figures/s_comparison.png"' in html
    assert "cdcdcdcd" in md and "t10k-labels-idx1-ubyte.gz" in html  # data checksums
    # The rule that makes a variant a CNN or an MLP is stated, and whether the runs used
    # deterministic algorithms (what a rerun may reproduce) is printed.
    assert "as a vision transformer's patch embedding does" in md
    assert ("- Device: cpu (test CPU), fp32 training, PyTorch's default algorithms "
            "(bit-identical on the same CPU with the same threads)") in md
    standalone = (out / "one.html").read_text()
    assert 'src="data:image/png;base64,cG5n"' in standalone  # b"png", embedded
    assert 'src="figures/' not in standalone


def test_a_per_variant_figure_is_shown_under_its_dataset_with_its_variant_named(monkeypatch):
    """A figure kind of scope "variant" was built for each variant and never shown."""
    from cnnlab.report import figure_kinds, render as render_module

    kinds = {**figure_kinds.KINDS,
             "loss_curves": figure_kinds.FigureKind("variant", "history.csv", "Loss per epoch.")}
    monkeypatch.setattr(render_module, "KINDS", kinds)
    figure_set = {f"s_mnist_{v}_loss_curves": {"kind": "loss_curves", "study": "s",
                                               "dataset": "mnist", "variant": v}
                  for v in ("x", "y")}
    context = build_context(summary_frame({"x": [0.9, 0.8], "y": [0.5, 0.6]},
                                          labels={"x": "Model X"}),
                            {"s": {"datasets": {"mnist": {}}}}, figure_set, "smoke", [DATA])
    shown = context["sections"][0]["datasets"][0]["figures"]
    assert [(f["file"], f["caption"]) for f in shown] == [
        ("figures/s_mnist_x_loss_curves.png", "Model X: Loss per epoch."),
        ("figures/s_mnist_y_loss_curves.png", "y: Loss per epoch.")]


def test_templates_refuse_missing_values(tmp_path):
    import jinja2

    context = build_context(summary_frame({"x": [0.9]}),
                            {"s": {"datasets": {"mnist": {}}}}, {}, "smoke", [DATA])
    del context["provenance"]["scale"]
    with pytest.raises(jinja2.UndefinedError):
        render(context, TEMPLATES, tmp_path / "r.md", tmp_path / "r.html", [])


def test_winner_names_the_best_variant_and_whether_its_lead_is_resolved():
    stats = over_seeds(summary_frame({"a": [0.9, 0.92], "b": [0.5, 0.52]}))
    line = findings.winner(stats)
    assert line.startswith("a has the best test accuracy, 91.00%, 40.00 points ahead of b "
                           "(51.00%); Welch's t-test p = ")
    assert line.endswith("n = 2 and 2 seeds: resolved.")
    flipped = over_seeds(summary_frame({"a": [0.4, 0.42], "b": [0.5, 0.52]}))
    assert findings.winner(flipped).startswith("b has the best test accuracy")


def test_efficiency_names_a_smaller_model_that_came_close():
    frame = summary_frame({"big": [0.90, 0.90], "small": [0.895, 0.895], "bad": [0.5, 0.5]})
    frame.loc[frame["variant"] == "small", "parameters"] = 250
    text = findings.efficiency(over_seeds(frame))
    assert text == "small came within 0.50 points of big with 250 parameters, 0.25x as many."
    frame.loc[frame["variant"] == "small", "test_acc"] = 0.7
    assert findings.efficiency(over_seeds(frame)).startswith("No model with fewer parameters")


def test_md_escape_keeps_tables_intact():
    assert md_escape("a|b<c>") == "a\\|b&lt;c&gt;"


def test_cnn_vs_mlp_gap_is_computed_per_dataset_and_compared():
    frame = pd.concat([
        summary_frame({"mlp": [0.97, 0.975, 0.972], "cnn": [0.99, 0.991, 0.992]}),
        summary_frame({"mlp": [0.50, 0.51, 0.52], "cnn": [0.65, 0.66, 0.64]}).assign(
            dataset="cifar10")], ignore_index=True)
    frame.loc[frame["variant"] == "cnn", ["model", "receptive_fields", "kind"]] = [
        "simple_cnn", "3 5", "cnn"]
    stats = over_seeds(frame)
    mnist = findings.conv_over_mlp(stats[stats["dataset"] == "mnist"])
    assert mnist[0] == pytest.approx(1.87, abs=0.01) and "n = 3 and 3 seeds: resolved" in mnist[1]
    # Whether objects vary is what the config states of each dataset, not a table in code.
    varied = {"mnist": False, "cifar10": True}
    answer, = questions.cnn_advantage_across_datasets(stats, varied)
    line = answer.sentences[0]
    assert line.startswith("The convolutional advantage over the MLP is +1.87 points on "
                           "mnist, +14.00 points on cifar10.")
    assert questions.cnn_advantage_across_datasets(stats[stats["dataset"] == "mnist"]) == []
    assert "It is larger on cifar10: its objects vary in position" in line
    # Unstated for either dataset: the numbers, without the explanation.
    unstated = questions.cnn_advantage_across_datasets(stats)[0].sentences[0]
    assert unstated == ("The convolutional advantage over the MLP is +1.87 points on mnist, "
                        "+14.00 points on cifar10.")


def test_cnn_gap_in_the_unexpected_direction_is_said_not_explained_away():
    """At a small scale the CIFAR-10 models may be too little trained: a larger gap on MNIST
    must not get the explanation that holds for the other direction."""
    frame = pd.concat([
        summary_frame({"mlp": [0.93, 0.935, 0.932], "cnn": [0.98, 0.978, 0.979]}),
        summary_frame({"mlp": [0.41, 0.42, 0.43], "cnn": [0.42, 0.44, 0.43]}).assign(
            dataset="cifar10")], ignore_index=True)
    frame.loc[frame["variant"] == "cnn", ["model", "receptive_fields", "kind"]] = [
        "simple_cnn", "3 5", "cnn"]
    line = questions.cnn_advantage_across_datasets(
        over_seeds(frame), {"mnist": False, "cifar10": True})[0].sentences[0]
    assert "It is larger on mnist, the opposite of the usual finding" in line
    assert "the cifar10 gap is not resolved" in line
    assert "its objects vary" not in line


def test_training_time_per_study_counts_only_the_runs_it_trained():
    """A run copied from another study's (shared_run) carries that run's train_seconds:
    counted once, by the study that trained it."""
    frame = summary_frame({"a": [0.9, 0.92], "b": [0.5, 0.52]})
    frame["trained_as"] = ["", "", "results/runs/t/mnist/x/seed0", ""]
    context = build_context(frame, {"s": {"datasets": {"mnist": {}}}}, {}, "smoke", [DATA])
    [study] = context["provenance"]["study_time"]
    assert (study["runs"], study["seconds"]) == (3, "6")


def test_most_overfit_and_cost_name_the_extremes():
    frame = summary_frame({"small": [0.90, 0.91, 0.92], "big": [0.95, 0.95, 0.96]})
    frame.loc[frame["variant"] == "big", ["train_acc", "parameters", "train_seconds"]] = \
        [1.0, 50_000, 9.0]
    frame["gap_acc"] = frame["train_acc"] - frame["test_acc"]
    table = over_seeds(frame)
    assert findings.most_overfit(table) == (
        "big overfits most: train accuracy exceeds test accuracy by 4.67 points (loss gap "
        "0.100); small least, with 1.00 points.")
    assert findings.cost(table) == (
        "Training took 2.0 s (small) to 9.0 s (big); parameter counts range from 1,000 "
        "(small) to 50,000 (big).")
    assert findings.most_overfit(table.iloc[:1]) is None  # one variant: nothing to compare


def test_verification_rows_call_a_layer_equal_only_within_the_tolerance():
    from cnnlab.report.legend import EQUAL_WITHIN
    from cnnlab.report.render import verification_rows

    table = pd.DataFrame({"layer": ["a", "b", "c"], "gradcheck": [True, True, False],
                          "max_forward_diff": [1e-7, 2 * EQUAL_WITHIN, 0.0],
                          "max_backward_diff": [1e-6, 1e-7, 0.0],
                          "max_backward_rel_diff": [1e-7, 1e-8, 0.0],
                          "time_ratio": [1.234, 0.5, 1.0]})
    rows = verification_rows(table)
    assert [r["equal"] for r in rows] == ["yes", "NO", "NO"]
    assert rows[2]["gradcheck"] == "FAILED" and rows[0]["ratio"] == "1.23x"
    assert rows[1]["forward"] == "2.0e-05"
    assert verification_rows(None) == []


def test_an_unresolved_larger_gap_gets_no_explanation():
    """One seed each: nothing is resolved, so the field's reason is not claimed."""
    frame = pd.concat([
        summary_frame({"mlp": [0.97], "cnn": [0.98]}),
        summary_frame({"mlp": [0.40], "cnn": [0.55]}).assign(dataset="cifar10")],
        ignore_index=True)
    frame.loc[frame["variant"] == "cnn", ["model", "receptive_fields", "kind"]] = [
        "simple_cnn", "3 5", "cnn"]
    line = questions.cnn_advantage_across_datasets(
        over_seeds(frame), {"mnist": False, "cifar10": True})[0].sentences[0]
    assert "The larger gap, on cifar10, is not resolved" in line
    assert "its objects vary" not in line

"""The report's per-task questions, answered from per-variant tables built here from
chosen numbers: each test checks that the answer follows the numbers (and flips with them)."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from cnnlab.analysis import questions
from cnnlab.models.architecture import describe
from cnnlab.analysis.depth_questions import depth
from cnnlab.models.registry import build_model
from cnnlab.report.tables import architecture_rows, per_class_rows
from cnnlab.analysis.summary import over_seeds
from test_results_report import summary_frame


def variants(spec: dict[str, tuple[str, dict, list[float]]], **columns) -> pd.DataFrame:
    """name -> (model, args, test accuracies per seed); extra per-variant columns as
    name -> value dicts (e.g. grad_ratio_init, training)."""
    frame = summary_frame({name: accs for name, (_, _, accs) in spec.items()})
    frame["dataset"] = "cifar10"
    for name, (model, args, _) in spec.items():
        here = frame["variant"] == name
        frame.loc[here, "model"] = model
        # Convolutional models record receptive fields; a fully connected one none.
        frame.loc[here, "receptive_fields"] = "" if model == "mlp" else "3 5"
        frame.loc[here, "kind"] = "mlp" if model == "mlp" else "cnn"
        frame.loc[here, "args"] = json.dumps(args, sort_keys=True)
        for column, values in columns.items():
            if name in values:
                frame.loc[here, column] = values[name]
    return over_seeds(frame)


def test_depth_says_where_gradients_vanished_and_which_networks_trained():
    table = variants(
        {"p2": ("deep_cnn", {"depth": 2, "norm": False}, [0.30, 0.32, 0.31]),
         "p32": ("deep_cnn", {"depth": 32, "norm": False}, [0.10, 0.10, 0.10]),
         "r32": ("deep_cnn", {"depth": 32, "norm": False, "residual": True}, [0.25, 0.27, 0.26]),
         "b32": ("deep_cnn", {"depth": 32, "norm": True}, [0.28, 0.29, 0.30])},
        grad_ratio_init={"p2": 0.8, "p32": 2e-13, "r32": 0.1, "b32": 0.5})
    [answer] = depth(table, "cifar10")
    two, thirty_two = answer.sentences
    assert two.startswith("2 layers. Plain, no normalization: the first layer's gradient is "
                          "8.0e-01 times the last layer's at initialization (not vanished")
    assert ("trained (one-sided t-test against chance 10%, the largest class's share of "
            "the test images: p = ") in two
    assert "2.0e-13 times" in thirty_two and "(vanished: threshold 0.01)" in thirty_two
    assert "did not train beyond chance (n = 3 seeds, no spread to test" in thirty_two
    assert "Residual twin: ratio 1.0e-01, 26.00%, +16.00 points" in thirty_two
    assert "With batch norm: ratio 5.0e-01, 29.00%, +19.00 points" in thirty_two
    assert answer.headline == ("2 layers: plain trained; 32 layers: plain at chance, "
                               "residual trained (chance 10%, the largest class's share of "
                               "the test images).")


def test_a_residual_twin_whose_branches_start_at_zero_shows_its_ratio_during_training():
    """zero_init_residual makes the ratio at initialization 0 by construction: the answer
    gives the one measured during training instead, and says why."""
    zero = {"depth": 32, "norm": False, "residual": True, "zero_init_residual": True}
    table = variants(
        {"p2": ("deep_cnn", {"depth": 2, "norm": False}, [0.30, 0.32, 0.31]),
         "p32": ("deep_cnn", {"depth": 32, "norm": False}, [0.10, 0.10, 0.10]),
         "r32": ("deep_cnn", zero, [0.25, 0.27, 0.26])},
        grad_ratio_init={"p2": 0.8, "p32": 2e-13, "r32": 0.0},
        grad_ratio_train={"p2": 0.7, "p32": 1e-12, "r32": 0.3})
    [answer] = depth(table, "cifar10")
    assert ("Residual twin: ratio during training 3.0e-01 (0 at initialization by design: "
            "every branch starts at zero), 26.00%") in answer.sentences[1]


def test_clipping_is_compared_with_its_unclipped_twin():
    args = {"depth": 16, "norm": False, "residual": True, "init": "he"}
    table = variants(
        {"explode": ("deep_cnn", args, [0.10, 0.11, 0.10]),
         "clip": ("deep_cnn", args, [0.20, 0.21, 0.19])},
        training={"clip": json.dumps({"lr": 0.1, "batch_size": 32, "epochs": 1,
                                      "grad_clip": 1.0})},
        grad_norm_init={"explode": 154.0})
    [answer] = [a for a in depth(table, "cifar10") if "clipping" in a.question]
    [line] = answer.sentences
    assert line.startswith("explode: total gradient norm at initialization 154 ")
    assert "Clipping the global norm to 1: 20.00%" in line
    assert "clipping changed test accuracy by +9.67 points (Welch's t-test" in line
    # The headline names both twins, set off in quotes, with their intervals.
    assert answer.headline == ("clipping: \u201cclip\u201d 20.00% ± 2.48 against "
                               "\u201cexplode\u201d 10.33% ± 1.43, +9.7 points, resolved.")


def test_custom_layers_equal_their_built_in_twin_only_within_seed_noise():
    base = {"channels": [16, 32, 64]}
    # Per-seed differences of up to 2 points, but the means differ by far less than the
    # seeds do: the implementation matters less than the seed.
    same = variants({"custom": ("attention_cnn", base, [0.50, 0.54, 0.46]),
                     "reference": ("attention_cnn", {**base, "implementation": "reference"},
                                   [0.52, 0.53, 0.47])})
    [answer] = questions.custom_equivalence(same)
    assert "equal within the seed-to-seed noise" in answer.sentences[0]
    assert "Per seed the twins differ by up to 2.00 points over the 3 seeds" in answer.sentences[1]
    assert answer.headline.startswith("custom layers vs built-in operations end to end: equal")
    apart = variants({"custom": ("attention_cnn", base, [0.50, 0.51, 0.52]),
                      "reference": ("attention_cnn", {**base, "implementation": "reference"},
                                    [0.45, 0.46, 0.47])})
    [answer] = questions.custom_equivalence(apart)
    assert "NOT shown equal" in answer.sentences[0] and ": resolved)" in answer.sentences[0]


def test_ablation_measures_each_layer_against_the_baseline():
    off = {"gate": False, "swish": False, "squeeze_excite": False, "gem": False}
    table = variants({"baseline": ("attention_cnn", off, [0.50, 0.51, 0.52]),
                      "gate_only": ("attention_cnn", {**off, "gate": True}, [0.50, 0.52, 0.51]),
                      "se_only": ("attention_cnn", {**off, "squeeze_excite": True},
                                  [0.60, 0.61, 0.62])})
    [answer] = questions.ablation(table)
    assert answer.sentences[1].startswith("+ gated convolutions: +0.00 points")
    assert answer.sentences[2].startswith("+ squeeze-and-excitation: +10.00 points")
    assert answer.headline == "ablation: squeeze-and-excitation adds most, +10.00 points (resolved)."


def test_kernel_trade_off_prefers_a_cheaper_kernel_that_is_not_resolvably_worse():
    table = variants({"k3": ("kernel_cnn", {"kernel_size": 3}, [0.60, 0.62, 0.61]),
                      "k7": ("kernel_cnn", {"kernel_size": 7}, [0.61, 0.62, 0.62])},
                     train_seconds={"k3": 10.0, "k7": 30.0})
    [answer] = questions.kernel_tradeoff(table)
    assert answer.headline.startswith("k3 is the best trade-off: not resolvably below k7 and 3.00x")
    far = variants({"k3": ("kernel_cnn", {"kernel_size": 3}, [0.50, 0.51, 0.52]),
                    "k7": ("kernel_cnn", {"kernel_size": 7}, [0.61, 0.62, 0.62])},
                   train_seconds={"k3": 10.0, "k7": 30.0})
    [answer] = questions.kernel_tradeoff(far)
    assert answer.headline.startswith("k7 is both the most accurate")
    # The kernel held against is the best on validation, not on the test split.
    picked = table.assign(val_acc_mean=table["label"].map({"k3": 0.70, "k7": 0.60}))
    [answer] = questions.kernel_tradeoff(picked)
    assert answer.headline.startswith("k3 is both the most accurate")
    assert answer.sentences[0].startswith("k3 is the most accurate on the validation split (70.00%)")


def test_architecture_rows_show_each_runs_layers_and_recipe_differences():
    table = variants({"k3": ("kernel_cnn", {"kernel_size": 3, "budget": 60000}, [0.6]),
                      "k5": ("kernel_cnn", {"kernel_size": 5, "budget": 60000}, [0.6])},
                     layers={"k3": "3 conv (3x3; widths 52, 104, 211)",
                             "k5": "3 conv (5x5; widths 31, 62, 128)"},
                     training={"k5": json.dumps({"lr": 0.1, "batch_size": 32, "epochs": 1,
                                                 "grad_clip": 1.0})})
    rows = architecture_rows(table)
    assert [r["layers"] for r in rows] == ["3 conv (3x3; widths 52, 104, 211)",
                                           "3 conv (5x5; widths 31, 62, 128)"]
    assert rows[1]["args"] == "budget=60000, kernel_size=5"
    assert rows[0]["recipe"] == "common" and rows[1]["recipe"] == "grad clip 1.0"


def test_the_report_needs_no_pytorch():
    """The report job renders from the runs' files; importing PyTorch would cost it
    seconds (more on a slow CPU) at the very end of the workflow, when nothing else runs."""
    probe = "import sys, cnnlab.report.render; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_per_class_rows_average_seeds_and_name_the_hardest_class():
    table = variants({"a": ("mlp", {}, [0.5, 0.5])})
    per_class = pd.DataFrame([
        {"study": "s", "dataset": "cifar10", "variant": "a", "class": c, "accuracy": acc}
        for c, acc in [("cat", 0.2), ("dog", 0.6), ("cat", 0.4), ("dog", 0.8)]])
    classes, rows = per_class_rows(per_class, table)
    assert classes == ["cat", "dog"]
    assert rows == [{"label": "a", "accs": ["30.0", "70.0"], "hardest": "cat"}]


@pytest.mark.parametrize("model,args", [("deep_cnn", {"depth": 4, "norm": False}),
                                        ("attention_cnn", {"gate": False, "gem": False})])
def test_describe_counts_the_main_path(model, args):
    text = describe(build_model(model, (3, 32, 32), 10, **args))
    assert text.startswith("4 conv (3x3;" if model == "deep_cnn" else "3 conv (3x3;")
    assert ("batch norm" in text) == (model == "attention_cnn")


def test_residual_blocks_names_the_most_accurate_leanest_and_steadiest_block():
    table = variants(
        {"basic": ("resnet", {"block": "basic"}, [0.60, 0.61, 0.62]),
         "bottleneck": ("resnet", {"block": "bottleneck"}, [0.55, 0.56, 0.57]),
         "wide": ("resnet", {"block": "basic", "widen": 2}, [0.70, 0.71, 0.72])},
        parameters={"basic": 1000, "bottleneck": 500, "wide": 4000},
        grad_norm_log_var={"basic": 0.02, "bottleneck": 0.01, "wide": 0.03})
    answer, = questions.residual_blocks(table)
    assert answer.headline == ("blocks: most accurate \u201cwide\u201d (71.00% ± 2.48); most "
                               "accurate per parameter \u201cbottleneck\u201d (56.00% ± 2.48, "
                               "500 parameters); steadiest gradients \u201cbottleneck\u201d.")
    assert answer.sentences[0].startswith("basic: 61.00% with 1,000 parameters (61.00 points "
                                          "per 1,000 parameters)")
    # "resolved" alone would also match "not resolved".
    assert "against basic: Welch" in answer.sentences[-1]
    assert "n = 3 and 3 seeds: resolved." in answer.sentences[-1]
    # One block with two recipes (Task 1's residual CNN with and without regularization):
    # no block question.
    same = variants({"r": ("resnet", {"block": "basic"}, [0.6, 0.61, 0.62]),
                     "r_reg": ("resnet", {"block": "basic"}, [0.62, 0.63, 0.64])})
    assert questions.residual_blocks(same) == []


def test_custom_twins_are_paired_by_seed_when_a_run_diverged():
    """Seed 1 of the reference diverged: pairing by position would compare the custom
    seed 1 with the reference seed 2 (7 points apart) instead of seeds 0 and 2 (1 point)."""
    base = {"channels": [16, 32, 64]}
    frame = summary_frame({"custom": [0.50, 0.60, 0.52], "reference": [0.51, 0.10, 0.53]})
    frame["model"] = "attention_cnn"
    frame["args"] = [json.dumps(base if v == "custom" else {**base, "implementation": "reference"})
                     for v in frame["variant"]]
    frame.loc[(frame["variant"] == "reference") & (frame["seed"] == 1), "diverged"] = True
    [answer] = questions.custom_equivalence(over_seeds(frame))
    assert "differ by up to 1.00 points over the 2 seeds both trained" in answer.sentences[1]


def test_a_cnn_beats_an_mlp_headline_names_both_models_with_their_intervals():
    table = variants({"mlp": ("mlp", {}, [0.44, 0.45, 0.46]),
                      "resnet": ("resnet", {"block": "basic"}, [0.62, 0.63, 0.64])},
                     label={"mlp": "MLP (3 layers)", "resnet": "Residual CNN, basic"})
    [answer] = questions.cnn_vs_mlp(table, "cifar10")
    assert answer.headline == ("cifar10: best CNN against best MLP: \u201cResidual CNN, basic\u201d "
                               "63.00% ± 2.48 against \u201cMLP (3 layers)\u201d 45.00% ± 2.48, "
                               "+18.0 points, resolved.")


def test_questions_read_model_defaults_from_the_builders_signatures():
    """A variant that leaves an argument at its default is read with the builder's value,
    not a default restated in the analysis."""
    import inspect

    from cnnlab.models import registry
    from cnnlab.models.arguments import model_defaults

    for name in ("deep_cnn", "attention_cnn", "resnet", "mlp"):
        builder = getattr(registry, name)
        expected = {k: list(p.default) if isinstance(p.default, tuple) else p.default
                    for k, p in inspect.signature(builder).parameters.items()
                    if p.default is not inspect.Parameter.empty}
        assert model_defaults(name) == expected
    # deep_cnn's default depth (4) and norm (True) classify a variant that sets neither.
    table = variants(
        {"p2": ("deep_cnn", {"depth": 2, "norm": False}, [0.30, 0.32, 0.31]),
         "p4": ("deep_cnn", {"norm": False}, [0.10, 0.10, 0.10]),
         "b4": ("deep_cnn", {}, [0.28, 0.29, 0.30])},
        grad_ratio_init={"p2": 0.8, "p4": 2e-13, "b4": 0.5})
    [answer] = depth(table, "cifar10")
    assert answer.sentences[1].startswith("4 layers.")
    assert "With batch norm: ratio 5.0e-01, 29.00%" in answer.sentences[1]


def test_per_class_rows_at_many_classes_show_the_hardest_only():
    """100 classes (CIFAR-100, a large folder): 20 columns, the lowest mean accuracy."""
    from cnnlab.report.tables import MOST_CLASSES_SHOWN

    table = variants({"a": ("mlp", {}, [0.5]), "b": ("mlp", {}, [0.5])})
    per_class = pd.DataFrame([
        {"study": "s", "dataset": "cifar10", "variant": v, "class": f"c{i:03d}",
         "accuracy": (i + (0.5 if v == "b" else 0)) / 200} for v in "ab" for i in range(100)])
    classes, rows = per_class_rows(per_class, table)
    assert classes == [f"c{i:03d}" for i in range(MOST_CLASSES_SHOWN)]
    assert [r["hardest"] for r in rows] == ["c000", "c000"]
    assert len(rows[0]["accs"]) == MOST_CLASSES_SHOWN


def test_the_best_of_a_kind_is_chosen_on_validation_not_on_the_test_split():
    """Two CNNs: the one luckier on the test split is worse on validation. Choosing on the
    test split would report that luck as the winner's accuracy."""
    from cnnlab.analysis.findings import conv_over_mlp

    def variant(label, kind, val, test):
        return {"label": label, "kind": kind, "kind_from": "rule", "n": 3,
                "val_acc_mean": val, "test_acc_mean": test, "test_acc_ci": 0.01,
                "test_acc_std": 0.01, "test_acc_values": [test - 0.01, test, test + 0.01],
                "parameters_mean": 1000.0}

    table = pd.DataFrame([variant("MLP", "mlp", 0.90, 0.90),
                          variant("lucky CNN", "cnn", 0.93, 0.96),
                          variant("better CNN", "cnn", 0.95, 0.95)])
    _, sentence, _, brief = conv_over_mlp(table)
    assert "(better CNN, 95.00%)" in sentence and "lucky" not in brief

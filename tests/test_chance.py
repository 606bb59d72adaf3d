"""Chance is what a network that ignores its input scores on the test images (the largest
class's share), not 1 / classes; on imbalanced classes balanced accuracy stands beside
accuracy. Built from per_class.csv files written as a training job writes them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnnlab.report.render import build_context
from cnnlab.report.tables import read_per_class
from cnnlab.training.evaluation import per_class_accuracy
from test_results_report import DATA, summary_frame

CLASSES = ["cat", "dog"]


def write_runs(root, confusions: dict[str, list[list[list[int]]]]) -> list:
    """``per_class.csv`` of each (variant, seed) from its confusion matrix, in the run
    folders' layout (runs/<study>/<dataset>/<variant>/seed<n>)."""
    paths = []
    for variant, matrices in confusions.items():
        for seed, matrix in enumerate(matrices):
            path = root / "runs" / "s" / "mnist" / variant / f"seed{seed}" / "per_class.csv"
            path.parent.mkdir(parents=True)
            per_class_accuracy(np.array(matrix), CLASSES).to_csv(path, index=False)
            paths.append(path)
    return paths


def test_a_constant_answer_on_imbalanced_classes_is_at_chance_not_above(tmp_path):
    # 80 cats and 20 dogs. "constant" answers cat for every image in every seed: 80%.
    constant = [[[80, 0], [20, 0]]] * 3
    # "learned" tells most dogs apart: 90%, 91%, 92%.
    learned = [[[79, 1], [9, 11]], [[79, 1], [8, 12]], [[80, 0], [8, 12]]]
    summary = summary_frame({"constant": [0.80] * 3, "learned": [0.90, 0.91, 0.92]})
    summary["model"] = "deep_cnn"
    summary["num_classes"] = 2  # what the runs recorded: 1 / classes would be 50%
    summary.loc[summary["variant"] == "constant", "args"] = json.dumps(
        {"depth": 2, "norm": False})
    summary.loc[summary["variant"] == "learned", "args"] = json.dumps(
        {"depth": 4, "norm": False})
    per_class = read_per_class(write_runs(tmp_path, {"constant": constant, "learned": learned}))
    context = build_context(summary, {"s": {"datasets": {"mnist": {}}}}, {}, "smoke", [DATA],
                            per_class=per_class)
    [section] = context["sections"]
    [conclusion] = [c for c in section["conclusions"] if "vanish" in c["question"]]
    two, four = conclusion["sentences"]
    chance = "chance 80%, the largest class's share of the test images"
    assert two.startswith("2 layers.")
    assert "test accuracy 80.00% (balanced accuracy 50.00%), did not train beyond chance" in two
    assert chance in two
    assert "test accuracy 91.00% (balanced accuracy" in four and ", trained (" in four
    assert chance in four
    # The results table: balanced accuracy beside accuracy, chance in the setup line.
    rows = {r["label"]: r for r in section["datasets"][0]["rows"]}
    assert rows["constant"]["test_acc"].endswith("(balanced 50.00)")
    balanced = np.mean([(79 / 80 + 11 / 20) / 2, (79 / 80 + 12 / 20) / 2, (80 / 80 + 12 / 20) / 2])
    assert rows["learned"]["test_acc"].endswith(f"(balanced {100 * balanced:.2f})")
    assert chance in section["datasets"][0]["setup"]


def test_balanced_classes_keep_accuracy_alone_and_chance_is_their_share(tmp_path):
    from cnnlab.analysis.chance import test_split_facts

    facts = test_split_facts(per_class_accuracy(np.array([[40, 10], [30, 20]]), CLASSES))
    assert facts == {"chance": 0.5, "imbalanced": False,
                     "balanced_acc": pytest.approx((40 / 50 + 20 / 50) / 2)}
    # A diverged run counted nothing: no chance from it.
    diverged = test_split_facts(per_class_accuracy(np.zeros((2, 2), int), CLASSES))
    assert np.isnan(diverged["chance"]) and np.isnan(diverged["balanced_acc"])

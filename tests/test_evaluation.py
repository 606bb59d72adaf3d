import numpy as np
import pandas as pd

from cnnlab.evaluation import confusion_matrix, evaluate_checkpoint, per_class_accuracy
from cnnlab.training import run_training
import io

from conftest import smoke_spec


def test_confusion_matrix_counts_true_rows_predicted_columns():
    labels = np.array([0, 0, 1, 2, 2, 2])
    preds = np.array([0, 1, 1, 2, 0, 2])
    m = confusion_matrix(labels, preds, 3)
    np.testing.assert_array_equal(m, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    acc = per_class_accuracy(m, ["a", "b", "c"])
    np.testing.assert_allclose(acc["accuracy"], [0.5, 1.0, 2 / 3])
    assert list(acc["support"]) == [2, 1, 3]


def test_evaluation_of_a_checkpoint_agrees_with_training(config, synthetic_mnist, tmp_path):
    spec = smoke_spec(config, "mnist", "mlp", epochs=1)
    metrics = run_training(spec, synthetic_mnist, tmp_path, progress=io.StringIO())
    confusion, per_class = evaluate_checkpoint(tmp_path / "model.pt", synthetic_mnist)
    assert isinstance(confusion, pd.DataFrame) and confusion.shape == (10, 10)
    assert confusion.values.sum() == spec["data"]["test_size"]
    assert np.trace(confusion.values) / confusion.values.sum() == metrics["test_acc"]
    assert per_class["correct"].sum() == np.trace(confusion.values)

"""Measure a trained model: loss and accuracy, predictions, confusion matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F


@torch.no_grad()
def predict(model, batches, amp_dtype: torch.dtype | None = None
            ) -> tuple[float, float, np.ndarray]:
    """Mean loss, accuracy and predicted labels over all batches (eval mode), under
    autocast to ``amp_dtype`` when given (a run is evaluated in the precision it trained
    in). Sums stay on the device; one synchronization at the end."""
    model.eval()
    device = torch.device(batches.device)
    loss_sum = torch.zeros((), device=device)
    preds = []
    for x, y in batches:
        with torch.autocast(device.type, amp_dtype or torch.float32,
                            enabled=amp_dtype is not None):
            logits = model(x).float()
        loss_sum += F.cross_entropy(logits, y, reduction="sum")
        preds.append(logits.argmax(1))
    pred = torch.cat(preds)
    n = len(batches.labels)
    correct = (pred == batches.labels).sum().item()
    return loss_sum.item() / n, correct / n, pred.cpu().numpy()


def confusion_matrix(labels: np.ndarray, preds: np.ndarray, num_classes: int) -> np.ndarray:
    """Rows are true classes, columns predicted classes."""
    return np.bincount(labels * num_classes + preds, minlength=num_classes ** 2).reshape(
        num_classes, num_classes)


def confusion_frame(matrix: np.ndarray, classes: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(matrix, index=classes, columns=classes)
    frame.index.name = "true"
    return frame


def per_class_accuracy(matrix: np.ndarray, classes: list[str]) -> pd.DataFrame:
    support = matrix.sum(axis=1)
    correct = np.diag(matrix)
    acc = np.divide(correct, support, out=np.full(len(classes), np.nan), where=support > 0)
    return pd.DataFrame({"class": classes, "support": support, "correct": correct,
                         "accuracy": acc})

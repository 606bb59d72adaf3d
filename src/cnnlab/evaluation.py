"""Measure a trained model: loss and accuracy, predictions, confusion matrix, speed."""

from __future__ import annotations

import statistics
import time

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


@torch.no_grad()
def inference_speed(model, in_shape, device, batch_size: int = 256, repeats: int = 5):
    """Median single-image latency (ms) and median batched throughput (images/s)."""
    model.eval()

    def timed(x) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        model(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t

    one = torch.randn(1, *in_shape, device=device).contiguous(memory_format=torch.channels_last)
    many = torch.randn(batch_size, *in_shape, device=device).contiguous(
        memory_format=torch.channels_last)
    timed(one), timed(many)  # warm-up: first calls allocate and pick kernels
    latency = statistics.median(timed(one) for _ in range(repeats * 4))
    batch_time = statistics.median(timed(many) for _ in range(repeats))
    return latency * 1e3, batch_size / batch_time

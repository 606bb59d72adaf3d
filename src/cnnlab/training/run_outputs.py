"""The files a finished run leaves in its folder, and the final metrics computed for them:
``history.csv``, ``curve.csv``, ``grad_norms.csv``, ``steps.csv``, ``confusion.csv``, ``per_class.csv``,
``model.pt`` and, written last, ``metrics.json``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from cnnlab import provenance
from cnnlab.models.architecture import describe, kind_facts, receptive_fields
from cnnlab.models.checkpoint import checkpoint
from cnnlab.training.device import precision_name
from cnnlab.training.evaluation import confusion_frame, confusion_matrix, per_class_accuracy, predict
from cnnlab.files import atomic_path
from cnnlab.models.registry import count_parameters

HISTORY_COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss",
                   "test_acc", "lr", "seconds"]
CURVE_COLUMNS = ["step", "epoch", "train_loss", "train_acc", "val_loss", "val_acc"]
FINAL_METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc")


def write_history(history: list[dict], out_dir: Path) -> None:
    """One row per finished epoch (validation loss and accuracy in each, test loss and
    accuracy in the last one only); rewritten
    after each, so a running job can be followed."""
    with atomic_path(Path(out_dir) / "history.csv") as tmp:
        pd.DataFrame(history, columns=HISTORY_COLUMNS).to_csv(tmp, index=False)


def stability(steps: list[dict]) -> dict:
    """How smoothly a run trained, from its logged steps: the largest rise of the batch
    loss between two consecutive records, and the variance of log10 of the total gradient
    norm (scale-free: a norm that swings by 10x counts the same at any size)."""
    loss = np.array([s["loss"] for s in steps], dtype=float)
    norm = np.array([s["grad_norm"] for s in steps], dtype=float)
    spike = float(np.max(np.diff(loss), initial=0.0)) if len(loss) > 1 else 0.0
    log_norm = np.log10(norm[np.isfinite(norm) & (norm > 0)])
    return {"max_loss_spike": spike,
            "grad_norm_log_var": float(np.var(log_norm)) if len(log_norm) else float("nan")}


def final_metrics(trainer) -> tuple[dict, np.ndarray | None]:
    """The run's metrics, and its predictions on the test subset (None if it diverged)."""
    st, rd, model, spec = trainer.state, trainer.rd, trainer.model, trainer.spec
    device = rd.train.device
    metrics = {"spec": spec, "parameters": count_parameters(model),
               "receptive_fields": [f.receptive_field for f in receptive_fields(model)],
               # The layers as built (budget-solved widths included), for the report's
               # architecture table, which then needs no PyTorch to rebuild the models.
               "layers": describe(model),
               # What the report's CNN-vs-MLP rule reads (analysis.model_kind).
               "kind_facts": kind_facts(model),
               **stability(st.steps),
               "classes": len(rd.classes),
               # What each split of the run held (train_size null: the split less validation).
               "images": {"train": len(rd.train.labels), "validation": len(rd.validation.labels),
                          "test": len(rd.test.labels)},
               "precision": precision_name(trainer.amp_dtype),
               # Whether PyTorch's deterministic algorithms were in force, read back from it.
               "deterministic": torch.are_deterministic_algorithms_enabled(),
               # What the optimizer stepped with, read during training (the report's recipe).
               "momentum": {"min": st.momentum_seen[0], "max": st.momentum_seen[1]},
               "epochs_completed": len(st.history), "train_seconds": st.seconds,
               "diverged": st.diverged_epoch is not None,
               "diverged_epoch": st.diverged_epoch}
    preds = None
    if st.diverged_epoch is None:
        metrics["train_loss"], metrics["train_acc"], _ = predict(model, rd.train_eval,
                                                                 trainer.amp_dtype)
        # The last epoch evaluated this model on this test subset already (a run resumed
        # after its last epoch has to predict once more).
        preds = trainer.test_preds
        if preds is None:
            _, _, preds = predict(model, rd.test, trainer.amp_dtype)
        metrics["val_loss"] = st.history[-1]["val_loss"]
        metrics["val_acc"] = st.history[-1]["val_acc"]
        metrics["test_loss"] = st.history[-1]["test_loss"]
        metrics["test_acc"] = st.history[-1]["test_acc"]
        # Inference speed is not measured here, beside other training jobs: the workflow's
        # latency rule measures every model with nothing else running.
    else:
        metrics.update({k: float("nan") for k in FINAL_METRICS})
    metrics.update(provenance.run_provenance(device))
    return metrics, preds


def write_run_files(trainer, out_dir: Path) -> dict:
    """Write every file of a finished run; returns its metrics."""
    st, rd = trainer.state, trainer.rd
    metrics, preds = final_metrics(trainer)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_history(st.history, out_dir)
    pd.DataFrame(st.grad_norms, columns=["step", "epoch", "layer", "norm"]).to_csv(
        out_dir / "grad_norms.csv", index=False)
    pd.DataFrame(st.steps, columns=["step", "epoch", "loss", "grad_norm"]).to_csv(
        out_dir / "steps.csv", index=False)
    pd.DataFrame(st.curve, columns=CURVE_COLUMNS).to_csv(out_dir / "curve.csv", index=False)
    # Confusion matrix and per-class accuracy from the predictions the last epoch made
    # (a diverged run predicted nothing: its matrix is all zeros, its accuracies NaN).
    n = len(rd.classes)
    labels = rd.test.labels.cpu().numpy()
    matrix = (confusion_matrix(labels, preds, n) if preds is not None
              else np.zeros((n, n), dtype=np.int64))
    confusion_frame(matrix, rd.classes).to_csv(out_dir / "confusion.csv")
    per_class = per_class_accuracy(matrix, rd.classes)
    per_class.to_csv(out_dir / "per_class.csv", index=False)
    torch.save(checkpoint(trainer.model, trainer.spec, rd.in_shape, rd.classes, rd.mean,
                          rd.std), out_dir / "model.pt")
    # metrics.json last: a run whose metrics exist finished writing everything else.
    write_json_atomic(metrics, out_dir / "metrics.json")
    return metrics


def write_json_atomic(obj, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=_json_default, allow_nan=True))


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    raise TypeError(f"cannot write {type(o).__name__} to JSON")

"""One training run: from a spec and a prepared dataset to a checkpoint, ``history.csv``,
``grad_norms.csv`` and ``metrics.json``."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm import tqdm

from cnnlab import provenance
from cnnlab.batches import Batches, channel_stats
from cnnlab.datasets import Prepared, subset_indices
from cnnlab.evaluation import inference_speed, predict
from cnnlab.models import build_model, count_parameters

CHECKPOINT_FORMAT = "cnnlab-checkpoint-1"


def configure_threads(threads: int) -> None:
    """Use exactly the threads the scheduler granted, so parallel jobs never oversubscribe."""
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process (e.g. by an earlier run in tests)
        pass


def select_device(preference: str = "auto") -> torch.device:
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(preference)


def make_optimizer(model, t: dict) -> torch.optim.Optimizer:
    if t["optimizer"] == "sgd":
        return torch.optim.SGD(model.parameters(), lr=t["lr"], momentum=t["momentum"],
                               nesterov=t["momentum"] > 0, weight_decay=t["weight_decay"])
    if t["optimizer"] == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=t["lr"], weight_decay=t["weight_decay"])
    raise ValueError(f"training.optimizer: unknown optimizer {t['optimizer']!r}")


def make_scheduler(optimizer, t: dict, total_steps: int):
    """Stepped once per batch."""
    if t["schedule"] == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=t["lr"],
                                                   total_steps=total_steps, pct_start=0.25)
    if t["schedule"] == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    if t["schedule"] == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    raise ValueError(f"training.schedule: unknown schedule {t['schedule']!r}")


def layer_grad_norms(model) -> dict[str, torch.Tensor]:
    """L2 norm of each weight's gradient, keyed by parameter name (biases and norm layers'
    parameters are left out: the question is how signal reaches each layer's weights)."""
    return {name: p.grad.detach().norm() for name, p in model.named_parameters()
            if p.grad is not None and p.ndim > 1}


@dataclass
class RunData:
    """The run's train and test subsets as batch iterators, plus what the model needs."""
    train: Batches
    train_eval: Batches
    test: Batches
    in_shape: tuple[int, int, int]
    classes: list[str]
    mean: torch.Tensor
    std: torch.Tensor


def load_run_data(data: Prepared, spec: dict, device, generator) -> RunData:
    t, d = spec["training"], spec["data"]
    tr = subset_indices(data.train_labels, d["train_size"])
    te = subset_indices(data.test_labels, d["test_size"])
    train_images, train_labels = data.train_images[tr], data.train_labels[tr]
    mean, std = channel_stats(train_images)
    common = dict(device=device, mean=mean, std=std)
    return RunData(
        train=Batches(train_images, train_labels, t["batch_size"], shuffle=True,
                      augment=t["augment"], generator=generator, drop_last=True, **common),
        train_eval=Batches(train_images, train_labels, t["eval_batch_size"], **common),
        test=Batches(data.test_images[te], data.test_labels[te], t["eval_batch_size"], **common),
        in_shape=tuple(train_images.shape[1:]),
        classes=data.classes,
        mean=mean,
        std=std,
    )


@dataclass
class TrainState:
    history: list[dict] = field(default_factory=list)
    grad_norms: list[dict] = field(default_factory=list)
    diverged_epoch: int | None = None
    seconds: float = 0.0


def train_epochs(model, rd: RunData, spec: dict, progress) -> TrainState:
    t = spec["training"]
    epochs = t["epochs"]
    optimizer = make_optimizer(model, t)
    scheduler = make_scheduler(optimizer, t, epochs * len(rd.train))
    state = TrainState()
    step = 0
    for epoch in range(1, epochs + 1):
        model.train()
        start = time.perf_counter()
        loss_sum = torch.zeros((), device=rd.train.device)
        correct = torch.zeros((), device=rd.train.device, dtype=torch.long)
        seen = 0
        bar = tqdm(total=len(rd.train), desc=f"epoch {epoch}/{epochs}", file=progress,
                   mininterval=2.0, leave=True)
        for x, y in rd.train:
            logits = model(x)
            loss = F.cross_entropy(logits, y, label_smoothing=t["label_smoothing"])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if t["grad_clip"]:
                torch.nn.utils.clip_grad_norm_(model.parameters(), t["grad_clip"])
            if step % t["grad_log_every"] == 0:
                norms = layer_grad_norms(model)
                values = torch.stack(list(norms.values())).tolist()
                state.grad_norms += [{"step": step, "epoch": epoch, "layer": k, "norm": v}
                                     for k, v in zip(norms, values)]
            optimizer.step()
            scheduler.step()
            # Accumulate on the device: no per-step host synchronization.
            loss_sum += loss.detach() * len(y)
            correct += (logits.argmax(1) == y).sum()
            seen += len(y)
            step += 1
            bar.update()
            if bar.n % 50 == 0:
                bar.set_postfix(loss=f"{loss_sum.item() / seen:.3f}",
                                acc=f"{correct.item() / seen:.3f}")
        train_loss, train_acc = loss_sum.item() / seen, correct.item() / seen
        bar.set_postfix(loss=f"{train_loss:.3f}", acc=f"{train_acc:.3f}")
        bar.close()
        elapsed = time.perf_counter() - start
        state.seconds += elapsed
        if not math.isfinite(train_loss):
            state.diverged_epoch = epoch
            print(f"epoch {epoch}: loss is {train_loss}; stopping this run as diverged",
                  file=progress)
            break
        test_loss, test_acc, _ = predict(model, rd.test)
        state.history.append({
            "epoch": epoch, "train_loss": train_loss, "train_acc": train_acc,
            "test_loss": test_loss, "test_acc": test_acc,
            "lr": optimizer.param_groups[0]["lr"], "seconds": elapsed,
        })
        print(f"epoch {epoch}: train loss {train_loss:.4f} acc {train_acc:.4f} | "
              f"test loss {test_loss:.4f} acc {test_acc:.4f} | {elapsed:.1f}s", file=progress)
    return state


def checkpoint(model, spec: dict, rd: RunData) -> dict:
    """Self-describing: the model can be rebuilt from this dict alone, and it holds only
    tensors and plain Python values, so ``torch.load(weights_only=True)`` accepts it."""
    return {
        "format": CHECKPOINT_FORMAT,
        "model": spec["model"],
        "model_args": spec["model_args"],
        "in_shape": list(rd.in_shape),
        "classes": rd.classes,
        "mean": rd.mean.cpu(),
        "std": rd.std.cpu(),
        "spec": spec,
        "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
    }


def load_checkpoint(path, device="cpu"):
    """Rebuild the model from a checkpoint; ``weights_only`` refuses anything but tensors
    and plain values, so an untrusted file cannot run code."""
    ckpt = torch.load(path, map_location=device, weights_only=True)
    if ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a {CHECKPOINT_FORMAT} file")
    model = build_model(ckpt["model"], ckpt["in_shape"], len(ckpt["classes"]),
                        **ckpt["model_args"])
    model.load_state_dict(ckpt["state_dict"])
    return model.to(device), ckpt


def run_training(spec: dict, data: Prepared, out_dir: Path, threads: int = 1,
                 progress=None) -> dict:
    """Train one run and write its files into ``out_dir``; returns the metrics.
    ``progress``: where the progress bar and epoch lines go (default: stderr)."""
    progress = progress or sys.stderr
    configure_threads(threads)
    t = spec["training"]
    device = select_device(t["device"])
    torch.manual_seed(spec["seed"])
    generator = torch.Generator().manual_seed(spec["seed"])
    rd = load_run_data(data, spec, device, generator)
    model = build_model(spec["model"], rd.in_shape, len(rd.classes), **spec["model_args"])
    model = model.to(device)
    print(f"{spec['study']}/{spec['dataset']}/{spec['variant']} seed {spec['seed']}: "
          f"{count_parameters(model):,} parameters, {len(rd.train.labels)} train / "
          f"{len(rd.test.labels)} test images, device {device}, {threads} threads",
          file=progress)
    state = train_epochs(model, rd, spec, progress)

    metrics = {"spec": spec, "parameters": count_parameters(model),
               "epochs_completed": len(state.history), "train_seconds": state.seconds,
               "diverged": state.diverged_epoch is not None,
               "diverged_epoch": state.diverged_epoch}
    if state.diverged_epoch is None:
        metrics["train_loss"], metrics["train_acc"], _ = predict(model, rd.train_eval)
        metrics["test_loss"], metrics["test_acc"], _ = predict(model, rd.test)
        metrics["latency_ms"], metrics["throughput"] = inference_speed(model, rd.in_shape,
                                                                       device)
    else:
        metrics.update({k: float("nan") for k in ("train_loss", "train_acc", "test_loss",
                                                  "test_acc", "latency_ms", "throughput")})
    metrics.update(provenance.run_provenance(device, threads))

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    history_columns = ["epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr",
                       "seconds"]
    pd.DataFrame(state.history, columns=history_columns).to_csv(out_dir / "history.csv",
                                                                index=False)
    pd.DataFrame(state.grad_norms, columns=["step", "epoch", "layer", "norm"]).to_csv(
        out_dir / "grad_norms.csv", index=False)
    torch.save(checkpoint(model, spec, rd), out_dir / "model.pt")
    # metrics.json last: a run whose metrics exist finished writing everything else.
    write_json_atomic(metrics, out_dir / "metrics.json")
    return metrics


def write_json_atomic(obj, path: Path) -> None:
    tmp = Path(str(path) + ".partial")
    tmp.write_text(json.dumps(obj, indent=2, default=_json_default, allow_nan=True))
    os.replace(tmp, path)


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    raise TypeError(f"cannot write {type(o).__name__} to JSON")

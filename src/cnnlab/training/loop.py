"""One training run: the loop (``Trainer``), what it needs (``make_trainer``), and
``run_training``, which takes a spec and a prepared dataset to the run's files
(written by ``cnnlab.training.run_outputs``)."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from cnnlab.training import run_outputs
from cnnlab.data.prepared import Prepared
from cnnlab.training.device import (autocast_dtype, configure_determinism, configure_threads,
                                    select_device)
from cnnlab.training.evaluation import predict
from cnnlab.models.registry import build_for_spec, count_parameters
from cnnlab.training.optimization import current_momentum, make_optimizer, make_scheduler
from cnnlab.training.resume import StopOnSignal, load_resume, save_resume
from cnnlab.data.run_subsets import RunData, load_run_data


def total_grad_norm(model) -> torch.Tensor:
    """The L2 norm of every parameter's gradient together: the norm gradient clipping
    (``clip_grad_norm_``) bounds, biases and normalization parameters included."""
    return torch.linalg.vector_norm(torch.stack(
        [p.grad.detach().norm() for p in model.parameters() if p.grad is not None]))


def layer_grad_norms(model) -> dict[str, torch.Tensor]:
    """L2 norm of each weight's gradient, keyed by parameter name (biases and norm layers'
    parameters are left out: the question is how signal reaches each layer's weights)."""
    return {name: p.grad.detach().norm() for name, p in model.named_parameters()
            if p.grad is not None and p.ndim > 1}


@dataclass
class TrainState:
    """Everything about a run in progress except the tensors of model, optimizer and
    random generators; with those, it is what a resumed run continues from."""
    history: list[dict] = field(default_factory=list)
    grad_norms: list[dict] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)  # loss and total gradient norm
    curve: list[dict] = field(default_factory=list)  # learning-curve points (curve.csv)
    curve_mark: tuple = (0.0, 0, 0)  # loss sum, correct, seen of this epoch at the last point
    diverged_epoch: int | None = None
    momentum_seen: tuple = (math.inf, -math.inf)  # lowest and highest momentum stepped with
    seconds: float = 0.0        # training seconds of completed epochs
    epoch: int = 1              # the epoch in progress, 1-based
    batch: int = 0              # batches of that epoch already done
    step: int = 0               # optimizer steps so far
    order: torch.Tensor | None = None  # this epoch's sample order
    loss_sum: float = 0.0       # running sums of the epoch in progress
    correct: int = 0
    seen: int = 0
    epoch_seconds: float = 0.0


class Interrupted(RuntimeError):
    """Training stopped on request (SIGTERM) after saving a resume checkpoint."""


class Trainer:
    """The training loop of one run, able to stop between two steps and to continue
    from a snapshot exactly where it stopped: same sample order, same augmentation and
    dropout draws, so a resumed run ends with the metrics of an uninterrupted one."""

    def __init__(self, model, rd: RunData, spec: dict, generator: torch.Generator, progress,
                 on_epoch=lambda state: None):
        self.model, self.rd, self.spec, self.generator = model, rd, spec, generator
        self.t = spec["training"]
        self.progress = progress
        self.on_epoch = on_epoch  # called with the state after every finished epoch
        self.test_preds = None    # the last evaluation's predictions on the test subset
        self.optimizer = make_optimizer(model, self.t)
        self.scheduler = make_scheduler(self.optimizer, self.t, self.t["epochs"] * len(rd.train))
        self.state = TrainState()
        # The learning curve's points: evenly spaced steps over the whole run.
        total, points = self.t["epochs"] * len(rd.train), self.t["curve_points"]
        self.curve_steps = {max(1, round(total * i / points)) for i in range(1, points + 1)}
        self.amp_dtype = autocast_dtype(self.t, rd.train.device)
        # The compiled module shares the model's parameters; evaluation uses the plain one.
        self.forward = torch.compile(model) if self.t.get("compile") else model
        # Gradient-norm records stay on the device until the epoch ends (or a snapshot
        # is taken): logging them costs no host synchronization.
        self._pending: list[tuple[int, int, list[str], torch.Tensor]] = []

    # ----------------------------------------------------------------- snapshots

    def snapshot(self) -> dict:
        """Plain values and tensors only: loadable with ``weights_only=True``."""
        self._flush_records()
        snap = {"spec": self.spec, "state": dict(vars(self.state)),
                "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "generator": self.generator.get_state(), "torch_rng": torch.get_rng_state()}
        if torch.cuda.is_available():
            snap["cuda_rng"] = torch.cuda.get_rng_state_all()
        return snap

    def restore(self, snap: dict) -> None:
        self.model.load_state_dict(snap["model"])
        self.optimizer.load_state_dict(snap["optimizer"])
        self.scheduler.load_state_dict(snap["scheduler"])
        self.generator.set_state(snap["generator"])
        torch.set_rng_state(snap["torch_rng"])
        if "cuda_rng" in snap and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(snap["cuda_rng"])
        self.state = TrainState(**snap["state"])

    # ----------------------------------------------------------------- the loop

    @property
    def finished(self) -> bool:
        """Trained to the last epoch, or stopped by divergence: nothing left to train."""
        return self.state.epoch > self.t["epochs"] or self.state.diverged_epoch is not None

    def run(self, should_stop=lambda: False, save=lambda snapshot: None) -> TrainState:
        """Train to the last epoch. ``save`` receives a snapshot after every epoch (so a
        killed job loses at most one epoch) and when ``should_stop()`` turns true, after
        which ``Interrupted`` is raised."""
        st, t, rd = self.state, self.t, self.rd
        device = rd.train.device
        while not self.finished:
            self.model.train()
            if st.order is None:
                st.order = rd.train.order()
            loss_sum = torch.tensor(st.loss_sum, device=device)
            correct = torch.tensor(st.correct, device=device)
            start = time.perf_counter() - st.epoch_seconds
            bar = tqdm(total=len(rd.train), initial=st.batch, mininterval=2.0,
                       desc=f"epoch {st.epoch}/{t['epochs']}", file=self.progress)
            for x, y in rd.train.iterate(st.order, st.batch):
                with torch.autocast(device.type, self.amp_dtype or torch.float32,
                                    enabled=self.amp_dtype is not None):
                    logits = self.forward(x)
                loss = F.cross_entropy(logits.float(), y, label_smoothing=t["label_smoothing"])
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                # Recorded before clipping: the figures show the gradients the network
                # produced, which clipping would flatten to the threshold.
                if st.step % t["grad_log_every"] == 0:
                    self._record_step(loss)
                if t["grad_clip"]:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), t["grad_clip"])
                momentum = current_momentum(self.optimizer)
                st.momentum_seen = (min(st.momentum_seen[0], momentum),
                                    max(st.momentum_seen[1], momentum))
                self.optimizer.step()
                self.scheduler.step()
                # Accumulate on the device: no per-step host synchronization.
                loss_sum += loss.detach() * len(y)
                correct += (logits.argmax(1) == y).sum()
                st.seen += len(y)
                st.step += 1
                st.batch += 1
                if st.step in self.curve_steps:
                    self._curve_point(loss_sum, correct)
                bar.update()
                if st.batch % 50 == 0:
                    bar.set_postfix(loss=f"{loss_sum.item() / st.seen:.3f}",
                                    acc=f"{correct.item() / st.seen:.3f}")
                if should_stop():
                    st.loss_sum, st.correct = loss_sum.item(), correct.item()
                    st.epoch_seconds = time.perf_counter() - start
                    bar.close()
                    save(self.snapshot())
                    raise Interrupted(f"stopped in epoch {st.epoch} after batch {st.batch}; "
                                      f"a rerun resumes from there")
            bar.close()
            self._flush_records()
            self._finish_epoch(loss_sum.item() / st.seen, correct.item() / st.seen,
                               time.perf_counter() - start)
            save(self.snapshot())
            self.on_epoch(st)
        return st

    def _curve_point(self, loss_sum, correct) -> None:
        """A learning-curve point: the fixed curve images (validation) evaluated now, and
        the train loss and accuracy of the batches since the previous point (of this epoch)."""
        st = self.state
        loss_now, correct_now = loss_sum.item(), correct.item()
        mark_loss, mark_correct, mark_seen = st.curve_mark
        seen = st.seen - mark_seen
        val_loss, val_acc, _ = predict(self.model, self.rd.curve, self.amp_dtype)
        self.model.train()
        st.curve.append({"step": st.step, "epoch": st.step / len(self.rd.train),
                         "train_loss": (loss_now - mark_loss) / seen if seen else math.nan,
                         "train_acc": (correct_now - mark_correct) / seen if seen else math.nan,
                         "val_loss": val_loss, "val_acc": val_acc})
        st.curve_mark = (loss_now, correct_now, st.seen)

    def _record_step(self, loss) -> None:
        """Every ``grad_log_every`` steps: each layer's weight-gradient norm, the total
        gradient norm (every parameter, as clipping computes it) and the batch loss, kept
        on the device (see ``_flush_records``)."""
        norms = layer_grad_norms(self.model)
        self._pending.append((self.state.step, self.state.epoch, list(norms),
                              torch.stack([*norms.values(), total_grad_norm(self.model),
                                           loss.detach().float()])))

    def _flush_records(self) -> None:
        """Move the pending records to the host in one synchronization."""
        if not self._pending:
            return
        flat = torch.cat([v for *_, v in self._pending]).tolist()
        st, at = self.state, 0
        for step, epoch, names, v in self._pending:
            row, at = flat[at:at + len(v)], at + len(v)
            st.grad_norms += [{"step": step, "epoch": epoch, "layer": name, "norm": norm}
                              for name, norm in zip(names, row[:-2])]
            st.steps.append({"step": step, "epoch": epoch, "loss": row[-1],
                             "grad_norm": row[-2]})
        self._pending = []

    def _finish_epoch(self, train_loss: float, train_acc: float, elapsed: float) -> None:
        st = self.state
        st.seconds += elapsed
        if not math.isfinite(train_loss):
            st.diverged_epoch = st.epoch
            print(f"epoch {st.epoch}: loss is {train_loss}; stopping this run as diverged",
                  file=self.progress)
            return
        # The validation subset after every epoch; the test subset once, after the last
        # epoch (the final metrics, confusion matrix and per-class accuracy): no number
        # read while training, or to choose between settings, comes from the test images.
        # Earlier epochs' rows say NaN for test.
        val_loss, val_acc, _ = predict(self.model, self.rd.validation, self.amp_dtype)
        test_loss = test_acc = math.nan
        if st.epoch == self.t["epochs"]:
            test_loss, test_acc, self.test_preds = predict(self.model, self.rd.test,
                                                           self.amp_dtype)
        st.history.append({
            "epoch": st.epoch, "train_loss": train_loss, "train_acc": train_acc,
            "val_loss": val_loss, "val_acc": val_acc,
            "test_loss": test_loss, "test_acc": test_acc,
            "lr": self.optimizer.param_groups[0]["lr"], "seconds": elapsed,
        })
        print(f"epoch {st.epoch}: train loss {train_loss:.4f} acc {train_acc:.4f} | "
              f"validation loss {val_loss:.4f} acc {val_acc:.4f} | "
              f"test loss {test_loss:.4f} acc {test_acc:.4f} | {elapsed:.1f}s",
              file=self.progress)
        st.epoch += 1
        st.batch = st.seen = st.correct = 0
        st.loss_sum = st.epoch_seconds = 0.0
        st.curve_mark = (0.0, 0, 0)
        st.order = None




def make_trainer(spec: dict, data: Prepared, threads: int = 1, progress=None,
                 on_epoch=lambda state: None) -> Trainer:
    """Everything a run needs before its first step, seeded from the spec: threads, device,
    data subsets, the model (channels_last) and the loop around them."""
    configure_threads(threads)
    configure_determinism(spec["training"].get("deterministic", False))
    device = select_device(spec["training"]["device"])
    torch.manual_seed(spec["seed"])
    generator = torch.Generator().manual_seed(spec["seed"])
    rd = load_run_data(data, spec, device, generator)
    model = build_for_spec(spec, rd.in_shape, len(rd.classes))
    model = model.to(device, memory_format=torch.channels_last)
    return Trainer(model, rd, spec, generator, progress or sys.stderr, on_epoch)


def run_training(spec: dict, data: Prepared, out_dir: Path, threads: int = 1,
                 progress=None, resume_file: Path | None = None,
                 should_stop=None, keep_resume: bool = False) -> dict:
    """Train one run and write its files into ``out_dir``; returns the metrics.
    ``progress``: where the progress bar and epoch lines go (default: stderr).
    ``resume_file``: where to keep the resume checkpoint; a run finding one saved for the
    same spec continues from it. ``should_stop``: polled after every step (default: was
    SIGTERM received); when true, the run saves and raises ``Interrupted``.
    ``keep_resume``: leave the finished run's checkpoint in place (see ``training_job``).
    ``history.csv`` is rewritten after every epoch, so a running job can be followed."""
    progress = progress or sys.stderr
    out_dir = Path(out_dir)
    trainer = make_trainer(spec, data, threads, progress,
                           on_epoch=lambda st: run_outputs.write_history(st.history, out_dir))
    rd = trainer.rd
    print(f"{spec['study']}/{spec['dataset']}/{spec['variant']} seed {spec['seed']}: "
          f"{count_parameters(trainer.model):,} parameters, {len(rd.train.labels)} train / "
          f"{len(rd.validation.labels)} validation / {len(rd.test.labels)} test images, device {rd.train.device}, {threads} threads",
          file=progress)
    save = (lambda snap: save_resume(snap, resume_file)) if resume_file else (lambda snap: None)
    snap = load_resume(resume_file, spec, progress) if resume_file else None
    if snap is not None:
        trainer.restore(snap)
        print(f"resuming from {resume_file}: " + (
            "trained to the end already; writing its files" if trainer.finished else
            f"epoch {trainer.state.epoch}, batch {trainer.state.batch}"), file=progress)
    with StopOnSignal() as signal_flag:
        trainer.run(should_stop or signal_flag.requested, save)
    metrics = run_outputs.write_run_files(trainer, out_dir)
    if resume_file and not keep_resume:
        Path(resume_file).unlink(missing_ok=True)
    return metrics

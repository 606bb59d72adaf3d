"""Preemption-safe training: a SIGTERM (a cluster's time limit, preemption, scancel)
asks the trainer to stop between two steps and save a resume checkpoint; the next attempt
of the job continues from it. Resume files live under results/resume/, outside the job's
declared outputs, because Snakemake deletes those before a job starts."""

from __future__ import annotations

import signal
from pathlib import Path

import torch

from cnnlab.files import atomic_path

RESUME_FORMAT = "cnnlab-resume-1"


class StopOnSignal:
    """Within ``with``: SIGTERM sets a flag (read by ``requested``) instead of killing the
    process, so the step in flight finishes and the state can be saved."""

    def __init__(self, signals=(signal.SIGTERM,)):
        self.signals = signals
        self.received = None
        self._previous = {}

    def requested(self) -> bool:
        return self.received is not None

    def _handle(self, signum, frame):
        self.received = signum

    def __enter__(self):
        for s in self.signals:
            self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc):
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        return False


def save_resume(snapshot: dict, path: Path) -> None:
    """Atomic: a job killed while saving leaves the previous resume file intact."""
    with atomic_path(path) as tmp:
        torch.save({"format": RESUME_FORMAT, **snapshot}, tmp)


def load_resume(path: Path, spec: dict) -> dict | None:
    """The saved snapshot of this very spec, or None (no file, or saved for a different
    spec: a changed parameter starts the run afresh)."""
    path = Path(path)
    if not path.is_file():
        return None
    snap = torch.load(path, map_location="cpu", weights_only=True)
    if snap.get("format") != RESUME_FORMAT or snap.get("spec") != spec:
        return None
    return snap

"""Preemption-safe training: a SIGTERM (a cluster's time limit, preemption, scancel)
asks the trainer to stop between two steps and save a resume checkpoint; the next attempt
of the job continues from it. Resume files live under results/resume/, outside the job's
declared outputs, because Snakemake deletes those before a job starts."""

from __future__ import annotations

import signal
import sys
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


def load_resume(path: Path, spec: dict, log=None) -> dict | None:
    """The saved snapshot of this very spec, or None: no file, or a file that cannot be
    used (unreadable, truncated, not a cnnlab checkpoint, or saved for a different spec,
    i.e. a changed setting). An unusable file is set aside (renamed, see ``set_aside``)
    with a warning on ``log`` (default stderr), so that the run starts afresh instead of
    failing on every attempt, and the file stays there to be looked at."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        snap = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - whatever is wrong with it, the run goes on
        reason = f"cannot be loaded ({type(e).__name__}: {str(e).splitlines()[0][:200]})"
    else:
        if not isinstance(snap, dict) or snap.get("format") != RESUME_FORMAT:
            reason = f"is not a cnnlab resume checkpoint ({RESUME_FORMAT})"
        elif snap.get("spec") != spec:
            reason = "was saved for a different spec (a setting of this run changed)"
        else:
            return snap
    aside = set_aside(path)
    print(f"warning: resume checkpoint {path} {reason}; moved to {aside}; this run starts "
          f"from the beginning", file=log or sys.stderr)
    return None


def set_aside(path: Path) -> Path:
    """Rename an unusable resume file to ``<name>.set-aside`` (replacing an older one)."""
    aside = path.with_name(path.name + ".set-aside")
    path.replace(aside)
    return aside

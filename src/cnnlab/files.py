"""Writing result files so that a crash never leaves a half-written file under the final
name (Snakemake, a resumed run or a reader would take it as complete), and saying what is
wrong with a path a user gave."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path`` to write to; it becomes ``path`` only when
    the block succeeds. The name carries the process id, so concurrent writers (two
    workflows on one folder) never share a temporary file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.partial{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_json_cache(path):
    """A cache file's content, or None where it is missing or unreadable: a cache written
    by an older version without atomic writes and killed mid-write, or a disk that filled,
    leaves a truncated file; a cache is then recomputed, never fatal."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None


def write_json_cache(path, obj) -> None:
    """Write a cache file atomically: a kill mid-write or two starts at once never leave
    a truncated file under the final name."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj))


def path_problem(path, kind: str = "folder") -> str | None:
    """What keeps ``path`` from being read as a ``kind`` ("folder" or "file"), in words
    that follow the path in a message ("does not exist", "is not a folder", ...), or None."""
    path = Path(path)
    if not path.exists():
        return "does not exist"
    if kind == "folder" and not path.is_dir():
        return "is not a folder"
    if kind == "file" and not path.is_file():
        return "is a folder, not a file" if path.is_dir() else "is not a regular file"
    if not os.access(path, os.R_OK | (os.X_OK if kind == "folder" else 0)):
        return "is not readable (check its permissions)"
    return None


# The files a finished run leaves in its folder (cnnlab.training.run_outputs writes them,
# metrics.json last, so a run whose metrics.json exists has all of them). The workflow
# declares and asks for a run's metrics.json only (cnnlab.run_files).
RUN_FILES = ("model.pt", "history.csv", "curve.csv", "grad_norms.csv", "steps.csv",
             "confusion.csv", "per_class.csv", "metrics.json")

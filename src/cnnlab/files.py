"""Writing result files so that a crash never leaves a half-written file under the final
name (Snakemake, a resumed run or a reader would take it as complete)."""

from __future__ import annotations

import contextlib
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

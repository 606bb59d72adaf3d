"""Send a job's output to its Snakemake log file."""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def log_to(path):
    """Redirect stdout and stderr (progress bars included) to ``path``, line-buffered so
    that ``tail -f`` on the log follows a running job."""
    with open(path, "w", buffering=1) as log, contextlib.redirect_stdout(log), \
            contextlib.redirect_stderr(log):
        yield log

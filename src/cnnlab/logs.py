"""Send a job's output to its Snakemake log file."""

from __future__ import annotations

import contextlib
import traceback


@contextlib.contextmanager
def log_to(path):
    """Redirect stdout and stderr (progress bars included) to ``path``, line-buffered so
    that ``tail -f`` on the log follows a running job. An exception that ends the job is
    written into the log, traceback and all, before it propagates: the rule's log is where
    Snakemake (and on a cluster, the user) looks for why a job failed."""
    with open(path, "w", buffering=1) as log, contextlib.redirect_stdout(log), \
            contextlib.redirect_stderr(log):
        try:
            yield log
        except BaseException:
            traceback.print_exc(file=log)
            raise

"""A run's files as the workflow sees them. Of the files a finished run holds
(``cnnlab.files.RUN_FILES``) the workflow declares and asks for its ``metrics.json`` alone,
which the training job writes last: one file per run, not eight, keeps Snakemake's planning
of a 10,000-run study near its own floor (benchmarks/dag.py). The rules that read the other
files find them beside it (``beside``), and a finished run that lost one of them is found
at the start (``incomplete_runs``) and retrained.

Not in ``cnnlab.files``: the training code imports that module, so a change here would
change the training code's digest and retrain every run."""

from __future__ import annotations

import os
from pathlib import Path

from cnnlab.files import RUN_FILES


def beside(metrics_files, name: str) -> list[str]:
    """The run file ``name`` of each run given by its ``metrics.json``."""
    return [str(Path(f).with_name(name)) for f in metrics_files]


def incomplete_runs(runs) -> dict[str, list[str]]:
    """``{run folder: the files of RUN_FILES it lacks}`` for the runs whose ``metrics.json``
    exists but not every other file (deleted by hand, or lost with a disk): Snakemake would
    not see it, since it is asked for metrics.json alone. One directory listing per run
    folder."""
    incomplete = {}
    for run in runs:
        try:
            present = set(os.listdir(run))
        except OSError:  # not trained yet
            continue
        if "metrics.json" in present and not present.issuperset(RUN_FILES):
            incomplete[run] = [name for name in RUN_FILES if name not in present]
    return incomplete

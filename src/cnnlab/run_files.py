"""A run's files as the workflow sees them. Of the files a finished run holds
(``cnnlab.files.RUN_FILES``) the workflow declares and asks for its ``metrics.json`` alone,
which the training job writes last: one file per run, not eight, keeps Snakemake's planning
of a 10,000-run study near its own floor (benchmarks/dag.py). The rules that read the other
files find them beside it (``beside``), a rule that reads every run of a study's dataset
asks for one file that stands for them all (``reader_inputs``), and a finished run that
lost one of its files is found at the start (``incomplete_runs``) and retrained.

Not in ``cnnlab.files``: the training code imports that module, so a change here would
change the training code's digest and retrain every run."""

from __future__ import annotations

import os
from pathlib import Path

from cnnlab.files import RUN_FILES

RESULTS = "results"


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


def runs_index(study: str, dataset: str) -> str:
    """The file that stands for every finished run of ``study``'s ``dataset`` (the workflow's
    rule runs_index writes their metrics.json paths into it, rewriting it when one of them
    is rewritten)."""
    return f"{RESULTS}/runs/{study}/{dataset}/runs.txt"


def run_groups(runs: dict[str, dict]) -> dict[tuple[str, str], list[str]]:
    """The run folders of each (study, dataset), in config order."""
    groups: dict[tuple[str, str], list[str]] = {}
    for run, spec in runs.items():
        groups.setdefault((spec["study"], spec["dataset"]), []).append(run)
    return groups


def lost_files(runs, lost: dict[str, list[str]]) -> list[str]:
    """The files the finished runs among ``runs`` lost (``lost``: ``incomplete_runs``)."""
    return [f"{run}/{name}" for run in runs for name in lost.get(run, ())]


def reader_inputs(reads, runs: dict[str, dict], groups: dict, lost: dict[str, list[str]]
                  ) -> list[str]:
    """What a rule that reads the runs ``reads`` asks for: the runs index of each study's
    dataset whose every run it reads (one file for thousands of runs keeps planning fast);
    for each other run its metrics.json (the sign that it finished) and the files it lost
    (``lost``: ``incomplete_runs``), so that such a run is retrained first."""
    reads = list(reads)
    wanted = set(reads)
    whole: dict[tuple[str, str], bool] = {}  # each group checked once, not once per run
    files: dict[str, None] = {}
    for run in reads:
        group = (runs[run]["study"], runs[run]["dataset"])
        if group not in whole:
            whole[group] = wanted.issuperset(groups[group])
        if whole[group]:
            files[runs_index(*group)] = None
        else:
            files.update(dict.fromkeys([f"{run}/metrics.json", *lost_files([run], lost)]))
    return list(files)

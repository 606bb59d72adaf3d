"""One training job: one run, or every seed of a variant (``train_job_per: variant``),
trained one after the other in one process. On a laptop most of a short run's cost outside its
loop is the process (importing PyTorch, its optimizer machinery, loading the dataset);
a job of three seeds pays it once instead of three times."""

from __future__ import annotations

import contextlib
from pathlib import Path

from cnnlab.logs import log_to
from cnnlab.training.loop import run_training


def train_job(specs: list[dict], load_data, out_dirs: list, resume_files: list, logs: list,
              threads: int = 1, hold_device=contextlib.nullcontext,
              should_stop=None) -> list[dict]:
    """Train each run into its own folder with its own log and resume checkpoint; return
    their metrics. ``load_data()`` and ``hold_device()`` (a context: the GPU slot, held to
    the end of the job) are called once, at the start, into the first run's log, so that a
    failure there is in a log too.

    A finished run keeps its checkpoint (its final state) until every run of the job has
    finished: if a later run is stopped or fails, Snakemake deletes all of the job's
    outputs, and the next attempt rebuilds the finished runs' files from their checkpoints
    (one evaluation) instead of training them again."""
    if not len(specs) == len(out_dirs) == len(resume_files) == len(logs):
        raise ValueError("train_job needs one output folder, resume file and log per spec")
    metrics, data = [], None
    with contextlib.ExitStack() as job:
        for spec, out_dir, resume_file, log in zip(specs, out_dirs, resume_files, logs):
            with log_to(log) as progress:
                if data is None:
                    job.enter_context(hold_device())
                    data = load_data()
                metrics.append(run_training(spec, data, Path(out_dir), threads, progress,
                                            resume_file=resume_file, should_stop=should_stop,
                                            keep_resume=True))
    for resume_file in resume_files:
        Path(resume_file).unlink(missing_ok=True)
    return metrics

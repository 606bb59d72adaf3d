"""A build exported as TensorBoard event files, one folder per run
(``<study>/<dataset>/<variant>/seed<N>``): history.csv per epoch (``epoch/...``), curve.csv
per step (``curve/...``), the final metrics (``final/...``) and an HParams entry (the run's
settings against its final accuracy and loss), so runs can be filtered and compared by
setting in TensorBoard's HPARAMS tab.

The event files are derived data: every export removes the folder and writes it again, so
exporting twice (or after a rebuild) leaves one folder per run and no stale events."""

from __future__ import annotations

import shutil
from pathlib import Path

from cnnlab.analysis.build import Build
from cnnlab.tracking.runs import series, variants

HPARAM_METRICS = ("test_acc", "test_loss", "train_acc", "train_seconds")


def export_tensorboard(build: Build, logdir: Path) -> int:
    """Write every run's events under ``logdir``; returns the number of runs."""
    # PyTorch's writer (TensorBoard's own needs TensorFlow for HParams); imported here so
    # that importing this module costs nothing.
    try:
        from torch.utils.tensorboard import SummaryWriter
        from torch.utils.tensorboard.summary import hparams
    except ImportError:
        raise ImportError("tensorboard is not installed: pip install 'cnnlab[tracking]'") from None

    shutil.rmtree(logdir, ignore_errors=True)
    count = 0
    for variant in variants(build):
        for run in variant.runs:
            folder = logdir / Path(run.name).relative_to("runs")
            with SummaryWriter(log_dir=str(folder)) as writer:
                for column, step, value in series(run.history, "epoch"):
                    writer.add_scalar(f"epoch/{column}", value, step)
                for column, step, value in series(run.curve, "step"):
                    writer.add_scalar(f"curve/{column}", value, step)
                final = {f"final/{k}": v for k, v in run.final.items()}
                for tag, value in final.items():
                    writer.add_scalar(tag, value, 0)
                shown = {f"final/{k}": run.final[k] for k in HPARAM_METRICS if k in run.final}
                params = {"label": variant.label, **run.params}
                # The three summaries add_hparams writes, but into this run's own file
                # (add_hparams would open a time-stamped sub-folder: a new run each export).
                for summary in hparams(params, shown):
                    writer.file_writer.add_summary(summary)
            count += 1
    return count

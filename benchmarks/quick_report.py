"""The whole report at quick scale on real data: wall time of
`snakemake --cores 2 report --config scale=quick data_mirror=MIRROR` in a fresh folder
(data preparation, every study's training, evaluations, figures, report), and the test
accuracies it reached, per study, dataset and variant (mean over seeds).

    python benchmarks/quick_report.py [--mirror ../shared/datasets] [--dir DIR] [--cores 2]
                                      [--precision fp32] [--record [DIR]]

The path an AVX2-only CPU takes, on a faster one: cap PyTorch's kernels and train in fp32,
as `precision: auto` does there:

    ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 \
        python benchmarks/quick_report.py --precision fp32

--record writes the figures and accuracies as a record (benchmarks/records.py) and renders
BENCHMARKS.md again. The folder is kept (default: a new one under /tmp) so that it can be inspected and its
no-op rerun timed with
`benchmarks/dag.py --built DIR --config scale=quick data_mirror=MIRROR`.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from cnnlab.training.device import cpu_bf16_units  # noqa: E402
from records import (add_record_option, cpu_description, current_commit, figure,  # noqa: E402
                     write_record)


STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]$")


def job_seconds_by_rule(log_text: str) -> dict[str, tuple[int, float]]:
    """From Snakemake's own log: each rule's number of jobs and their seconds from start to
    finish, summed (Snakemake stamps both to the second)."""
    now, rule, started, jobs = None, None, {}, {}
    for line in log_text.splitlines():
        if m := STAMP.match(line):
            now = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
        elif m := re.match(r"^(?:local)?rule (\w+):$", line):
            rule = m.group(1)
        elif (m := re.match(r"^\s+jobid: (\d+)$", line)) and rule:
            started[m.group(1)] = (rule, now)
        elif m := re.match(r"^Finished jobid: (\d+)", line):
            name, start = started.pop(m.group(1))
            n, total = jobs.get(name, (0, 0.0))
            jobs[name] = (n + 1, total + (now - start).total_seconds())
    return jobs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirror", type=Path, default=REPO.parent / "shared" / "datasets")
    ap.add_argument("--dir", type=Path, help="work folder (must not hold results yet)")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                    help="training.precision for every run (default: the config's auto)")
    add_record_option(ap)
    args = ap.parse_args(argv)
    commit = current_commit()  # the code measured is the code at the start
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="cnnlab-quick-"))
    if (workdir / "results").exists():
        raise SystemExit(f"{workdir}/results exists: the measurement needs a fresh folder")
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"),
           "--cores", str(args.cores), "report",
           "--config", "scale=quick", f"data_mirror={args.mirror.resolve()}"]
    if args.precision != "auto":
        cmd.append(f"training={{precision: {args.precision}}}")
    print(f"in {workdir}: {' '.join(cmd[1:])}", flush=True)
    print(f"CPU: {cpu_description()}; bf16 units: {cpu_bf16_units() or 'none (fp32 under auto)'}; "
          + "; ".join(f"{v}={os.environ.get(v, 'unset')}" for v in
                      ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS")),
          flush=True)
    start = time.perf_counter()
    with open(workdir / "snakemake.log", "w") as log:
        done = subprocess.run(cmd, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"snakemake failed after {wall:.0f} s; see {workdir}/snakemake.log")

    summary = pd.read_csv(workdir / "results" / "summary.csv")
    table = (summary.groupby(["study", "dataset", "variant"], sort=False)
             .agg(test_acc=("test_acc", "mean"), seeds=("seed", "count"),
                  train_s=("train_seconds", "median"), precision=("precision", "first"))
             .reset_index())
    # A run shared with another study (trained_as) was trained once, by that study's run.
    trained = summary[summary["trained_as"].fillna("") == ""]
    in_loop = trained["train_seconds"].sum() / (wall * args.cores)
    print(f"\nwhole report, quick scale, --cores {args.cores}: {wall / 60:.1f} min wall "
          f"({len(summary)} runs, {len(trained)} trained; training "
          f"{trained['train_seconds'].sum() / 60:.1f} job-minutes)")
    print(f"in training loops: {100 * in_loop:.0f}% of the core-seconds (the runs' "
          f"train_seconds summed, over wall time x {args.cores} cores)\n")
    # Where the rest went: each rule's jobs from start to finish (a training job's time
    # beyond its runs' loops is start-up, data, evaluation and writing files).
    print(f"| rule | jobs | job-seconds | share of {wall * args.cores:.0f} core-seconds |")
    print("|---|---:|---:|---:|")
    for rule, (n, seconds) in sorted(job_seconds_by_rule(
            (workdir / "snakemake.log").read_text()).items(), key=lambda kv: -kv[1][1]):
        print(f"| {rule} | {n} | {seconds:.0f} | {100 * seconds / (wall * args.cores):.1f}% |")
    print()
    print("| study | dataset | variant | test accuracy (mean) | seeds | train s (median) | precision |")
    print("|---|---|---|---:|---:|---:|---|")
    for r in table.itertuples():
        print(f"| {r.study} | {r.dataset} | {r.variant} | {100 * r.test_acc:.2f}% | {r.seeds} "
              f"| {r.train_s:.0f} | {r.precision} |")
    if args.record:
        write_record("quick_report", [
            figure("wall time", round(wall / 60, 1), "min"),
            figure("runs", len(summary), ""), figure("runs trained", len(trained), ""),
            figure("training loops", round(trained["train_seconds"].sum() / 60, 1), "job-min"),
            figure("in training loops", round(100 * in_loop), "%")], args.record,
            accuracy=[figure(f"{r.study}/{r.dataset}/{r.variant}", round(100 * r.test_acc, 2),
                             "%") for r in table.itertuples()],
            note=f"{args.cores} cores; trained in {', '.join(sorted(set(summary['precision'])))}"
                 f"; {int(table['seeds'].max())} seeds", commit=commit)


if __name__ == "__main__":
    main()

"""DAG scale: wall time of Snakemake's dry run for a grid of 1,000 runs (plus their
evaluations, figures and the report), and of a no-op rerun of a finished folder.

    python benchmarks/dag.py [--runs 1000] [--built DIR [--config KEY=VALUE ...]] [--record [DIR]]

--built DIR: a folder where `snakemake report` already finished for the default config
(for example the one benchmarks/quick_report.py leaves), with the same code and the same
--config it was built with (for that one: scale=quick data_mirror=MIRROR); the rerun
there must find nothing to do. Snakemake's own start-up and a one-rule workflow's no-op
are timed in the same rounds: the floor under any workflow on this machine. Medians of
--rounds; each measurement is a whole `snakemake` process, so Python and Snakemake
start-up are included, as a user would see them. With --built, one more no-op rerun under
cProfile prints where its time goes, by package. --record writes the medians as a record
(benchmarks/records.py) and renders BENCHMARKS.md again.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from records import add_record_option, current_commit, figure, write_record

REPO = Path(__file__).resolve().parents[1]


def grid_config(runs: int) -> dict:
    """A user's config of one study of ``runs`` runs (cnnlab's defaults fill the rest):
    two datasets, 10 seeds, and as many MLP variants (each a different width) as that
    takes."""
    seeds = list(range(10))
    per_dataset = runs // (2 * len(seeds))
    return {"scale": "smoke", "scales": {"smoke": {"seeds": seeds}},
            "studies": {"grid": {"title": "grid", "datasets": {
                ds: {"variants": [{"name": f"mlp{w}", "model": "mlp", "args": {"hidden": [w]}}
                                  for w in range(16, 16 + per_dataset)]}
                for ds in ("mnist", "cifar10")}}}}


def timed(cmd, cwd) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stdout[-3000:]}{out.stderr[-3000:]}")
    return wall, out.stdout + out.stderr


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--built", type=Path, help="a finished folder of the default config")
    ap.add_argument("--config", nargs="*", default=[], help="as it was built with")
    add_record_option(ap)
    args = ap.parse_args(argv)
    commit, figures = current_commit(), []  # the code measured is the code at the start
    snakemake = [sys.executable, "-m", "snakemake"]

    with tempfile.TemporaryDirectory() as tmp:
        # The grid as a user's config file: its study runs alone.
        Path(tmp, "grid.yaml").write_text(yaml.safe_dump(grid_config(args.runs)))
        walls = []
        for _ in range(args.rounds):
            wall, out = timed([*snakemake, "-s", str(REPO / "Snakefile"), "-n", "--cores", "2",
                               "report", "--configfile", "grid.yaml"], tmp)
            walls.append(wall)
        jobs = next(line for line in out.splitlines() if line.startswith("total"))
        print(f"dry run, {args.runs}-run grid: {statistics.median(walls):.1f} s "
              f"(median of {args.rounds}; {jobs.split()[-1]} jobs)")
        grid = f"dry run, {args.runs:,}-run grid"
        figures += [figure("wall", round(statistics.median(walls), 2), "s", grid),
                    figure("jobs", int(jobs.split()[-1]), "", grid)]

    if args.built:
        # Beside it, in the same rounds, Snakemake's own floor on this machine: its start-up
        # (`--version`) and the no-op rerun of a one-rule workflow.
        walls = {"cnnlab": [], "version": [], "one_rule": []}
        with tempfile.TemporaryDirectory() as tiny:
            Path(tiny, "Snakefile").write_text(
                'rule one:\n    output: "one.txt"\n    shell: "touch {output}"\n')
            timed([*snakemake, "--cores", "1"], tiny)
            for _ in range(args.rounds):
                wall, out = timed([*snakemake, "-s", str(REPO / "Snakefile"), "--cores", "2",
                                   "report",
                                   *(["--config", *args.config] if args.config else [])],
                                  args.built)
                assert "Nothing to be done" in out, out[-2000:]
                walls["cnnlab"].append(wall)
                walls["version"].append(timed([*snakemake, "--version"], tiny)[0])
                wall, out = timed([*snakemake, "--cores", "1"], tiny)
                assert "Nothing to be done" in out, out[-2000:]
                walls["one_rule"].append(wall)
        med = {k: statistics.median(v) for k, v in walls.items()}
        print(f"no-op rerun of {args.built}: {med['cnnlab']:.1f} s (median of {args.rounds}); "
              f"Snakemake alone on this machine: `snakemake --version` {med['version']:.1f} s, "
              f"no-op of a one-rule workflow {med['one_rule']:.1f} s; cnnlab's share "
              f"{med['cnnlab'] - med['one_rule']:.1f} s")
        scale = next((c.split("=", 1)[1] for c in args.config if c.startswith("scale=")),
                     "quick")
        noop = f"no-op rerun, finished {scale} folder"
        figures += [figure("wall", round(med["cnnlab"], 2), "s", noop),
                    figure("Snakemake alone (one-rule no-op)", round(med["one_rule"], 2), "s",
                           noop),
                    figure("snakemake --version", round(med["version"], 2), "s", noop)]

        where_the_time_goes([*snakemake, "-s", str(REPO / "Snakefile"), "--cores", "2", "report",
                             *(["--config", *args.config] if args.config else [])], args.built)
    if args.record:
        write_record("workflow_start", figures, args.record, commit=commit,
                     note=f"medians of {args.rounds} rounds, each a whole snakemake process")


def where_the_time_goes(cmd: list[str], cwd) -> None:
    """One no-op rerun under cProfile: its own time (tottime) summed by top-level package
    (cnnlab, snakemake, yaml, ...; the Snakefile and its rules files as "workflow"), and
    whether PyTorch, SciPy or matplotlib were imported at all."""
    import pstats

    with tempfile.TemporaryDirectory() as tmp:
        prof = Path(tmp, "noop.prof")
        # cmd is [python, -m, snakemake, ...]: the same under the profiler.
        out = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(prof), *cmd[1:]],
                             cwd=cwd, capture_output=True, text=True)
        assert "Nothing to be done" in out.stdout + out.stderr, out.stderr[-2000:]
        stats = pstats.Stats(str(prof))
    by_package: dict[str, float] = {}
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():
        path = Path(filename)
        if "site-packages" in path.parts:
            package = path.parts[path.parts.index("site-packages") + 1]
        elif "cnnlab" in path.parts:
            package = "cnnlab"
        elif path.suffix in (".smk", "") and ("workflow" in path.parts or path.name == "Snakefile"):
            package = "workflow"
        elif filename.startswith("<") or filename == "~":
            package = "builtins"
        else:
            package = "python stdlib"
        package = package.split(".")[0].split("-")[0]
        by_package[package] = by_package.get(package, 0.0) + tottime
    total = sum(by_package.values())
    print(f"no-op rerun under cProfile: {total:.2f} s of profiled time, by package:")
    for package, seconds in sorted(by_package.items(), key=lambda kv: -kv[1])[:10]:
        print(f"  {package:24s} {seconds:6.2f} s  {100 * seconds / total:4.1f}%")
    heavy = sorted({p for p in by_package if p in ("torch", "scipy", "matplotlib")})
    print(f"imported during the parse: {', '.join(heavy) or 'none of torch, scipy, matplotlib'}")


if __name__ == "__main__":
    main()

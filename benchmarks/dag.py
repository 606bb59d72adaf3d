"""DAG scale: how long Snakemake takes to plan cnnlab's workflow, each beside the same
measurement of a minimal Snakefile of as many jobs on the same machine (the floor under
any workflow there): the dry run of a grid of N runs, the no-op rerun of a built grid, what
a cluster job spends before it trains, and the cold dry run of the default config.

    python benchmarks/dag.py [--runs 10000] [--rounds 3] [--noop-runs 1000] [--cold]
                             [--built DIR [--config KEY=VALUE ...]] [--record [DIR]]

--runs N: the dry run of a user's grid of N runs (their evaluations, figures and the
report), beside a minimal Snakefile of N jobs (each a dict `params:` and one output, and
one rule that asks for them all), in the same rounds; the ratio of the medians. A first,
untimed dry run fills the model check's cache (the cold start is --cold's question). Then
what a cluster job of that grid spends before it trains: the command Snakemake's executors
send to a job (`--target-jobs train:... --allowed-rules train --mode remote`), dry, so
that it stops where the training would start.
--noop-runs N (0: skip): a grid of N runs built at smoke scale (tiny sizes: this measures
planning, not training), then its no-op rerun beside the no-op of the minimal Snakefile
of N finished jobs.
--cold: the dry run of the default config at full scale in an empty folder, every model
checked (no cache), as on a cluster's first start.
--built DIR: a folder where `snakemake report` already finished for the default config
(for example the one benchmarks/quick_report.py leaves), with the same code and the same
--config it was built with; the rerun there must find nothing to do, beside Snakemake's
start-up and a one-rule workflow's no-op; one more rerun under cProfile prints where its
time goes, by package.
Medians of --rounds; each measurement a whole `snakemake` process, start-up included, as
a user sees it. --record writes the medians as a record (benchmarks/records.py) and
renders BENCHMARKS.md again.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from records import add_record_option, current_commit, figure, write_record

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
CNNLAB = [*SNAKEMAKE, "-s", str(REPO / "Snakefile")]

# The floor: N jobs, each with a dict of parameters and one output, and a rule asking for
# them all, as a Snakefile with nothing else.
MINIMAL = """N = {jobs}


rule all:
    input:
        expand("out/{{i}}.txt", i=range(N)),


rule one:
    output:
        "out/{{i}}.txt",
    params:
        spec=lambda w: {{"i": int(w.i), "model": "mlp", "lr": 0.1}},
    shell:
        "touch {{output}}"
"""
# Sizes that make a smoke-scale grid quick to build: its no-op rerun plans as many runs
# whatever they trained on.
TINY = {"train_size": 64, "test_size": 64, "validation_size": 32, "epochs": 1}


def grid_config(runs: int, tiny: bool = False) -> dict:
    """A user's config of one study of ``runs`` runs (cnnlab's defaults fill the rest):
    two datasets, 10 seeds, and as many MLP variants (each a different width) as that
    takes. ``tiny``: built in seconds (TINY sizes, each variant's seeds in one job)."""
    seeds = list(range(10))
    per_dataset = runs // (2 * len(seeds))
    smoke = {"seeds": seeds}
    if tiny:
        smoke |= {"train_job_per": "variant",
                  "datasets": {ds: TINY for ds in ("mnist", "cifar10")}}
    config = {"scale": "smoke", "scales": {"smoke": smoke},
              "studies": {"grid": {"title": "grid", "datasets": {
                  ds: {"variants": [{"name": f"mlp{w}", "model": "mlp",
                                     "args": {"hidden": [w]}}
                                    for w in range(16, 16 + per_dataset)]}
                  for ds in ("mnist", "cifar10")}}}}
    if tiny:
        config["training"] = {"batch_size": 32, "curve_size": 32, "curve_points": 2}
    return config


def timed(cmd, cwd) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stdout[-3000:]}{out.stderr[-3000:]}")
    return wall, out.stdout + out.stderr


def job_count(out: str) -> int:
    return int(next(line for line in out.splitlines() if line.startswith("total")).split()[-1])


def side_by_side(rounds: int, cnnlab: tuple, minimal: tuple) -> dict:
    """Medians of ``rounds`` of two (command, folder) measurements, taken in turn so that
    the machine's noise falls on both alike; the output of each's last round."""
    walls, outs = {"cnnlab": [], "minimal": []}, {}
    for _ in range(rounds):
        for name, (cmd, cwd) in (("cnnlab", cnnlab), ("minimal", minimal)):
            wall, outs[name] = timed(cmd, cwd)
            walls[name].append(wall)
    med = {k: statistics.median(v) for k, v in walls.items()}
    return med | {"ratio": med["cnnlab"] / med["minimal"], "out": outs}


def compared(case: str, med: dict, jobs: int) -> list[dict]:
    print(f"{case}: {med['cnnlab']:.1f} s; a minimal Snakefile of as many jobs "
          f"{med['minimal']:.1f} s; ratio {med['ratio']:.2f} ({jobs:,} jobs)")
    return [figure("wall", round(med["cnnlab"], 2), "s", case),
            figure("jobs", jobs, "", case),
            figure("minimal Snakefile", round(med["minimal"], 2), "s", case),
            figure("ratio", round(med["ratio"], 2), "x", case)]


def minimal_folder(root: Path, jobs: int) -> Path:
    folder = root / f"minimal-{jobs}"
    folder.mkdir()
    (folder / "Snakefile").write_text(MINIMAL.format(jobs=jobs))
    return folder


def grid_dry_run(runs: int, rounds: int, tmp: Path) -> list[dict]:
    """The dry run of a grid of ``runs`` runs beside the minimal Snakefile's; then the
    start of one cluster job of it, before it trains."""
    grid = tmp / "grid"
    grid.mkdir()
    (grid / "grid.yaml").write_text(yaml.safe_dump(grid_config(runs)))
    dry = [*CNNLAB, "-n", "--cores", "2", "report", "--configfile", "grid.yaml"]
    timed(dry, grid)  # fills the model check's cache: the cold start is another question
    med = side_by_side(rounds, (dry, grid),
                       ([*SNAKEMAKE, "-n", "--cores", "2"], minimal_folder(tmp, runs)))
    figures = compared(f"dry run, {runs:,}-run grid", med, job_count(med["out"]["cnnlab"]))
    # What Snakemake's executors run on a cluster node for one training job (its
    # --target-jobs, --allowed-rules and --mode remote; snakemake_interface_executor_plugins),
    # dry: everything a job does before its script starts training.
    remote = [*CNNLAB, "--target-jobs", "train:study=grid,dataset=mnist,variant=mlp16,seed=0",
              "--allowed-rules", "train", "--cores", "1", "--force", "--nolock",
              "--ignore-incomplete", "--mode", "remote", "-n", "--configfile", "grid.yaml"]
    walls = [timed(remote, grid)[0] for _ in range(rounds)]
    print(f"a cluster job of the {runs:,}-run grid, before it trains: "
          f"{statistics.median(walls):.1f} s")
    return figures + [figure("wall", round(statistics.median(walls), 2), "s",
                             f"cluster job start, {runs:,}-run grid")]


def built_grid_noop(runs: int, rounds: int, tmp: Path) -> list[dict]:
    """Build a tiny smoke grid of ``runs`` runs and the minimal Snakefile of as many jobs,
    then time both no-op reruns."""
    grid = tmp / "built"
    grid.mkdir()
    (grid / "grid.yaml").write_text(yaml.safe_dump(grid_config(runs, tiny=True)))
    build = [*CNNLAB, "--cores", "2", "report", "--configfile", "grid.yaml"]
    start = time.perf_counter()
    timed(build, grid)
    print(f"built a {runs:,}-run smoke grid (tiny sizes) in {time.perf_counter() - start:.0f} s")
    minimal = minimal_folder(tmp, runs)
    timed([*SNAKEMAKE, "--cores", "2"], minimal)
    med = side_by_side(rounds, (build, grid), ([*SNAKEMAKE, "--cores", "2"], minimal))
    for name, out in med["out"].items():
        assert "Nothing to be done" in out, f"{name}: not a no-op:\n{out[-2000:]}"
    return compared(f"no-op rerun, built {runs:,}-run smoke grid", med, runs)


def cold_dry_run(rounds: int, tmp: Path) -> list[dict]:
    """The default config's dry run at full scale in an empty folder: nothing cached."""
    walls, out = [], ""
    for i in range(rounds):
        folder = tmp / f"cold-{i}"
        folder.mkdir()
        wall, out = timed([*CNNLAB, "-n", "--cores", "2", "report", "--config", "scale=full"],
                          folder)
        walls.append(wall)
        shutil.rmtree(folder)
    case = "dry run, full scale, empty folder (model check not cached)"
    print(f"{case}: {statistics.median(walls):.1f} s ({job_count(out)} jobs)")
    return [figure("wall", round(statistics.median(walls), 2), "s", case),
            figure("jobs", job_count(out), "", case)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--noop-runs", type=int, default=1000, help="0: skip")
    ap.add_argument("--cold", action="store_true")
    ap.add_argument("--built", type=Path, help="a finished folder of the default config")
    ap.add_argument("--config", nargs="*", default=[], help="as it was built with")
    add_record_option(ap)
    args = ap.parse_args(argv)
    commit, figures = current_commit(), []  # the code measured is the code at the start

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.runs:
            figures += grid_dry_run(args.runs, args.rounds, tmp)
        if args.noop_runs:
            figures += built_grid_noop(args.noop_runs, args.rounds, tmp)
        if args.cold:
            figures += cold_dry_run(args.rounds, tmp)

    if args.built:
        # Beside it, in the same rounds, Snakemake's own floor on this machine: its start-up
        # (`--version`) and the no-op rerun of a one-rule workflow.
        walls = {"cnnlab": [], "version": [], "one_rule": []}
        with tempfile.TemporaryDirectory() as tiny:
            Path(tiny, "Snakefile").write_text(
                'rule one:\n    output: "one.txt"\n    shell: "touch {output}"\n')
            timed([*SNAKEMAKE, "--cores", "1"], tiny)
            for _ in range(args.rounds):
                wall, out = timed([*CNNLAB, "--cores", "2", "report",
                                   *(["--config", *args.config] if args.config else [])],
                                  args.built)
                assert "Nothing to be done" in out, out[-2000:]
                walls["cnnlab"].append(wall)
                walls["version"].append(timed([*SNAKEMAKE, "--version"], tiny)[0])
                wall, out = timed([*SNAKEMAKE, "--cores", "1"], tiny)
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

        where_the_time_goes([*CNNLAB, "--cores", "2", "report",
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

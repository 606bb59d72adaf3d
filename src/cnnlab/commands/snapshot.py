"""Keep what a later `cnnlab compare` needs of a build (no checkpoints, no data).

Copies summary.csv and each run's metrics.json, history.csv and curve.csv (a smoke build:
0.3 MB) to snapshots/NAME, in the results folder's layout.

The same from a build made on another machine, without cnnlab there:
  rsync -a --include='*/' --include='summary.csv' --include='metrics.json' \\
        --include='history.csv' --include='curve.csv' --exclude='*' \\
        --prune-empty-dirs host:project/results/ snapshots/NAME/
A whole results folder works as a baseline too (cnnlab compare OTHER/results).
"""

from __future__ import annotations

from pathlib import Path

from cnnlab.cli import CommandError


def add_arguments(parser) -> None:
    parser.add_argument("name", help="the snapshot's name (its folder is snapshots/NAME)")
    parser.add_argument("--results", default="results",
                        help="the build to keep (default: results)")
    parser.add_argument("--to", help="the folder to write (default: snapshots/NAME)")
    parser.add_argument("--replace", action="store_true",
                        help="overwrite the folder when it already exists")


def run(args) -> int:
    from cnnlab.analysis.build import BuildError
    from cnnlab.analysis.snapshot import snapshot

    to = Path(args.to or Path("snapshots") / args.name)
    try:
        files, size = snapshot(args.results, to, replace=args.replace)
    except BuildError as e:
        raise CommandError(str(e)) from None
    print(f"Snapshot of {args.results} written to {to.resolve()}: {files} files, "
          f"{size / 1e6:.2f} MB.\nCompare a later build with it: cnnlab compare {to}")
    return 0

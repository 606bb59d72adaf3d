"""Export a build's runs to MLflow and TensorBoard (needs cnnlab[tracking]).

Writes an MLflow store (RESULTS/tracking/mlflow.db, its artifacts in
RESULTS/tracking/mlartifacts) and TensorBoard event files (RESULTS/tracking/tensorboard).
Run it again after a rebuild: changed runs are replaced, never duplicated.

  mlflow ui --backend-store-uri sqlite:///results/tracking/mlflow.db
  tensorboard --logdir results/tracking/tensorboard
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from cnnlab.cli import CommandError


def add_arguments(parser) -> None:
    parser.add_argument("--results", default="results",
                        help="the build to export (default: results)")
    parser.add_argument("--to", help="where to write (default: RESULTS/tracking)")


def run(args) -> int:
    missing = [m for m in ("mlflow", "tensorboard") if importlib.util.find_spec(m) is None]
    if missing:
        raise CommandError(f"{' and '.join(missing)} not installed: "
                           f"pip install 'cnnlab[tracking]'")
    from cnnlab.analysis.build import BuildError, read_build
    from cnnlab.tracking.mlflow_store import export_mlflow, store_uri
    from cnnlab.tracking.tensorboard_logs import export_tensorboard

    try:
        build = read_build(args.results)
    except BuildError as e:
        raise CommandError(str(e)) from None
    tracking = Path(args.to) if args.to else build.root / "tracking"
    written, kept = export_mlflow(build, tracking)
    runs = export_tensorboard(build, tracking / "tensorboard")
    print(f"MLflow: {written} variant(s) written, {kept} unchanged, in {tracking / 'mlflow.db'}\n"
          f"  mlflow ui --backend-store-uri {store_uri(tracking)}\n"
          f"TensorBoard: {runs} run(s) in {tracking / 'tensorboard'}\n"
          f"  tensorboard --logdir {tracking / 'tensorboard'}")
    return 0

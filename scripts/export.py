"""Rule export: adapter to cnnlab.tracking (an MLflow store and TensorBoard event files)."""
from pathlib import Path

from cnnlab.analysis.build import read_build
from cnnlab.logs import log_to
from cnnlab.tracking.mlflow_store import export_mlflow
from cnnlab.tracking.tensorboard_logs import export_tensorboard

with log_to(snakemake.log[0]):
    build = read_build(Path(snakemake.input.summary).parent)
    tracking = Path(snakemake.output[0])
    export_mlflow(build, tracking)
    export_tensorboard(build, tracking / "tensorboard")

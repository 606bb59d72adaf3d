# Config validation, the expansion of studies into runs, and the input functions the rules
# share. Everything is checked here, before Snakemake schedules a single job.
import os
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from cnnlab import config as cnnlab_config
from cnnlab.datasets import DATASETS

validate(config, schema="../schemas/config.schema.yaml")
try:
    cnnlab_config.check_config(config)
except cnnlab_config.ConfigError as e:
    raise WorkflowError(f"config error: {e}") from None

RUNS = cnnlab_config.expand_runs(config)
FIGURES = cnnlab_config.figure_names(config)
SYNTHETIC = cnnlab_config.scale_settings(config)["synthetic"]
SEEDS = cnnlab_config.scale_settings(config)["seeds"]
DATA_MIRROR = config.get("data_mirror") or os.environ.get("CNNLAB_DATA_MIRROR", "")
DATA_MIRROR = str(Path(DATA_MIRROR).resolve()) if DATA_MIRROR else ""
if SYNTHETIC:
    DATA_SOURCE = "synthetic"
elif DATA_MIRROR:
    DATA_SOURCE = "mirror"
else:
    DATA_SOURCE = "download"
LIB = Path(workflow.basedir) / "src" / "cnnlab"
# Written beside each prepared dataset: its source and checksums, for the report.
DATA_PROVENANCE = [
    cnnlab_config.prepared_path(ds, SYNTHETIC).replace(".npz", ".json")
    for ds in sorted({spec["dataset"] for spec in RUNS.values()})
]


wildcard_constraints:
    study=cnnlab_config.NAME_PATTERN,
    variant=cnnlab_config.NAME_PATTERN,
    dataset="|".join(DATASETS),
    seed=r"\d+",
    name=r"[A-Za-z0-9_\-]+",


def lib(*modules):
    """Library files a rule's result depends on. Snakemake does not see imports, so they
    are declared as inputs: editing plots.py redraws figures and retrains nothing."""
    return [str(LIB / f"{m}.py") for m in modules]


# What a trained model's numbers depend on: the model definitions (models imports blocks,
# layers and architecture), the batches, the data subsets and the loop itself. Resuming,
# GPU claiming and provenance do not change results and are left out on purpose.
MODEL_CODE = lib("models", "blocks", "layers", "architecture", "batches", "datasets",
                 "training", "evaluation")


def run_path(w):
    return cnnlab_config.run_dir(w.study, w.dataset, w.variant, w.seed)


def run_spec(w):
    path = run_path(w)
    if path not in RUNS:
        raise WorkflowError(f"{path} is not a run of the config; runs are "
                            f"results/runs/<study>/<dataset>/<variant>/seed<seed> for the "
                            f"studies, variants and seeds in config.yaml")
    return RUNS[path]


def prepared_data(w):
    return cnnlab_config.prepared_path(w.dataset, SYNTHETIC)


def figure(w, kind):
    """The config's description of figure ``<w.name>_<kind>``, or a clear error for a name that
    the config does not define."""
    stem = f"{w.name}_{kind}"
    fig = FIGURES.get(stem)
    if fig is None or fig["kind"] != kind:
        raise WorkflowError(f"results/figures/{stem}.png is not a figure of this config; "
                            f"figures: {', '.join(sorted(FIGURES))}")
    return fig


def figure_runs(w, kind, filename):
    fig = figure(w, kind)
    return [f"{run}/{filename}" for run, spec in RUNS.items()
            if spec["study"] == fig["study"]
            and fig.get("dataset", spec["dataset"]) == spec["dataset"]
            and fig.get("variant", spec["variant"]) == spec["variant"]]


def figure_specs(w, kind):
    return [RUNS[f.rsplit("/", 1)[0]] for f in figure_runs(w, kind, "")]

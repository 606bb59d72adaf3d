# Config validation, the expansion of studies into runs, and the input functions the rules
# share. Everything is checked here, before Snakemake schedules a single job.
import os
import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from cnnlab.code_digest import code_digest
from cnnlab.data.catalog import BUILTIN as BUILTIN_DATASETS, DATASETS
from cnnlab.data.mirror import data_mirror
from cnnlab.files import RUN_FILES, path_problem  # RUN_FILES: what a finished run holds
from cnnlab import run_files
from cnnlab.run_files import incomplete_runs, reader_inputs, run_groups, runs_index
from cnnlab.models import build_check as model_check
from cnnlab.plan import config as cnnlab_config
from cnnlab.provenance import lock_notice, lock_status
from cnnlab.plan.collisions import check_collisions
from cnnlab.plan.custom_layers import needs_layer_verification
from cnnlab.plan.defaults import apply_defaults
from cnnlab.plan.figures import figure_names, figure_run_dirs
from cnnlab.plan.machine_memory import available_memory, smallest_gpu_memory
from cnnlab.plan.memory import check_memory
from cnnlab.plan.shared_runs import shared_runs
from cnnlab.report.figure_kinds import KINDS as FIGURE_KINDS, PROBES, kinds_from

# The config given (--configfile, --config, a module's `config:`) over cnnlab's defaults;
# cnnlab's own studies (config.yaml beside the Snakefile) unless it names studies itself.
apply_defaults(config, Path(str(workflow.current_basedir)).parents[1] / "config.yaml")
validate(config, schema="../schemas/config.schema.yaml")
# One line where the installed packages are not the lock's (not an error).
if notice := lock_notice(lock_status()):
    print(notice, file=sys.stderr)
try:
    # The user's image folders: listed, checked and added to the dataset catalog first.
    FOLDERS = cnnlab_config.folder_datasets(config, Path(".snakemake/cnnlab"))
    # Sweep grids become ordinary variants, one per grid point; everything below sees those.
    STUDY_CONFIG = cnnlab_config.expand_sweeps(config)
    cnnlab_config.check_config(STUDY_CONFIG)
    check_collisions(STUDY_CONFIG)  # labels of one dataset, figure file names
    RUNS = cnnlab_config.expand_runs(STUDY_CONFIG)
    cnnlab_config.check_runs(RUNS, config["scale"])
except cnnlab_config.ConfigError as e:
    raise WorkflowError(f"config error: {e}") from None
# Every model is checked as it will train (one step, on the CPU or the meta device) before
# any job starts; a bad argument value, a model that cannot take the images or returns no
# logits is reported here, for all variants at once. The same step counts its FLOPs and
# memory. Cached, so a rerun with no new model is instant.
try:
    MODEL_FACTS = model_check.checked_models(
        RUNS,
        Path(".snakemake/cnnlab"),
        probes={
            s: d["probes"]
            for s, d in STUDY_CONFIG["studies"].items()
            if d.get("probes")
        },
    )
except ValueError as e:
    raise WorkflowError(f"config error: {e}") from None
# The memory each training job will need, estimated before any job (cnnlab.plan.memory): a
# run that would not fit this machine, or its GPU, stops here with the setting that would
# make it fit. Only where jobs run on this machine (a cluster's profile asks for each job's
# memory; its jobs' own starts check nothing), and only for runs not trained yet (a report
# of runs trained elsewhere needs none of it).
if workflow.local_exec and not workflow.remote_exec:
    try:
        check_memory(
            {r: s for r, s in RUNS.items() if not os.path.exists(f"{r}/metrics.json")},
            model_check.per_run(RUNS, MODEL_FACTS),
            {"memory": available_memory(), "gpu": smallest_gpu_memory()},
            config["scale"],
            folders=FOLDERS,
            jobs_per_gpu=config["jobs_per_gpu"],
        )
    except cnnlab_config.ConfigError as e:
        raise WorkflowError(f"config error: {e}") from None
RUN_PRIORITY = model_check.priorities(model_check.run_costs(RUNS, MODEL_FACTS))
FIGURES = figure_names(STUDY_CONFIG)
SCALE = cnnlab_config.scale_settings(config)
SYNTHETIC = SCALE["synthetic"]


# Which rule prepares a dataset: the built-in ones (prepare_data), the user's folders
# (prepare_folder); "(?!)" matches nothing.
BUILTIN_PATTERN = "|".join(BUILTIN_DATASETS)
FOLDER_PATTERN = "|".join(FOLDERS) or "(?!)"


def prepared(dataset, suffix=".npz"):
    """The prepared file of ``dataset`` (or with suffix ".json" its provenance)."""
    synthetic = cnnlab_config.uses_synthetic(config, dataset)
    return cnnlab_config.prepared_path(dataset, synthetic, suffix)


# Probe figures look inside one model per variant: the first seed's.
PROBE_SEED = SCALE["seeds"][0]
DATA_MIRROR = data_mirror(config)
if DATA_MIRROR and (problem := path_problem(DATA_MIRROR, "folder")):
    raise WorkflowError(
        f"config error: data_mirror: dataset mirror {DATA_MIRROR} {problem} "
        "(a folder holding one subfolder of original files per built-in dataset: mnist/, cifar10/, ...)"
    )
# Written beside each prepared dataset: its source and checksums, for the report.
DATA_PROVENANCE = [
    prepared(ds, ".json") for ds in sorted({spec["dataset"] for spec in RUNS.values()})
]


wildcard_constraints:
    study=cnnlab_config.NAME_PATTERN,
    variant=cnnlab_config.NAME_PATTERN,
    dataset="|".join(DATASETS),
    seed=r"\d+",
    name=r"[A-Za-z0-9_.\-]+",


# The workflow's own folders, from this file's place (workflow/rules), not from
# workflow.basedir: where cnnlab is a Snakemake module of another project, that is the
# other project's folder.
WORKFLOW_DIR = Path(str(workflow.current_basedir)).parent
SCRIPTS = WORKFLOW_DIR.parent / "scripts"


def library_code(script, leave_out=()):
    """The `code` parameter of the job that runs ``script``, the digest of the library code
    its result depends on (cnnlab.code_digest: the modules the script imports, followed
    through the library, compared by syntax tree). Snakemake reruns a job whose parameter
    changed, so a comment or docstring edit reruns nothing, and a change of code reruns
    exactly the rules whose scripts reach it: editing plots.py redraws figures and
    retrains nothing. Snakemake itself tracks the scripts' own text."""
    return code_digest(SCRIPTS / script, leave_out=leave_out)


def run_spec(path):
    if path not in RUNS:
        raise WorkflowError(
            f"{path} is not a run of the config; runs are "
            f"results/runs/<study>/<dataset>/<variant>/seed<seed> for the "
            f"studies, variants and seeds in config.yaml"
        )
    return RUNS[path]


def prepared_data(w):
    return prepared(w.dataset)


def unknown_figure(stem):
    raise WorkflowError(
        f"results/figures/{stem}.png is not a figure of this config; "
        f"figures: {', '.join(sorted(FIGURES))}"
    )


def figure(w, kind):
    """The config's description of figure ``<w.name>_<kind>``, or a clear error for a name that
    the config does not define."""
    fig = FIGURES.get(f"{w.name}_{kind}")
    if fig is None or fig["kind"] != kind:
        unknown_figure(f"{w.name}_{kind}")
    return fig


def figure_runs(w, kind):
    """The metrics.json of each run the figure is drawn from (plan.figures); the script
    reads the run file it draws beside it."""
    return run_metrics(figure_run_dirs(figure(w, kind), RUNS, PROBE_SEED))


def figure_inputs(w, kind):
    """run_inputs of the runs the figure is drawn from."""
    return run_inputs(figure_run_dirs(figure(w, kind), RUNS, PROBE_SEED))


def figure_specs(w, kind):
    return [RUNS[run] for run in figure_run_dirs(figure(w, kind), RUNS, PROBE_SEED)]


def figure_shown(w, kind):
    """How the config shows each run of a figure now (label, sweep): not in metrics.json."""
    return [cnnlab_config.shown_as(spec) for spec in figure_specs(w, kind)]


def kind_pattern(kinds):
    return "|".join(kinds)


def figure_report(path, kind=None):
    """A figure output flagged for Snakemake's own --report: filed under its study
    (category) and figure kind (subcategory), labelled by dataset and variant; its caption
    is the kind's caption from figure_kinds (the rule's `caption` param)."""

    def fig(w):
        return FIGURES[f"{w.name}_{kind or w.kind}"]

    return report(
        path,
        caption="../report/figure.rst",
        category=lambda w: fig(w)["study"],
        subcategory=lambda w: fig(w)["kind"].replace("_", " "),
        labels=lambda w: {
            "figure": fig(w)["kind"].replace("_", " "),
            "dataset": fig(w).get("dataset", "all"),
            "variant": fig(w).get("variant", "all"),
        },
    )


def figure_caption(w):
    return FIGURE_KINDS[getattr(w, "kind", "confusion")].caption


# ---- training jobs: which runs each job trains, their files and benchmark files
RUN = cnnlab_config.run_dir("{study}", "{dataset}", "{variant}", "{seed}")
TRAIN_JOB_PER = SCALE.get("train_job_per", "run")
# The run folders of one training job, as patterns of the job's wildcards.
JOB_RUNS = (
    [
        cnnlab_config.run_dir("{study}", "{dataset}", "{variant}", seed)
        for seed in SCALE["seeds"]
    ]
    if TRAIN_JOB_PER == "variant"
    else [RUN]
)
# What a trained model's numbers depend on: the code train.py reaches, except resuming,
# GPU claiming, provenance and logging, which do not change results (left out on purpose).
TRAINING_CODE = library_code(
    "train.py",
    leave_out=(
        "cnnlab.training.resume",
        "cnnlab.training.gpus",
        "cnnlab.provenance",
        "cnnlab.logs",
    ),
)


# Snakemake's own measurement of each training job (seconds, peak memory), for the
# summary's job_seconds and peak_memory_mb.
TRAIN_BENCHMARK = cnnlab_config.train_benchmark_pattern(TRAIN_JOB_PER)


def train_benchmark(run):
    """Where the benchmark file of the job that trained ``run`` (another run's, if shared)
    may be (cnnlab_config.train_benchmarks); the summary reads the newest there is."""
    return cnnlab_config.train_benchmarks(
        RUNS[SHARED_RUNS.get(run, run)], TRAIN_JOB_PER
    )


def job_runs(w):
    return [run.format(**dict(w.items())) for run in JOB_RUNS]


def job_specs(w):
    return [run_spec(run) for run in job_runs(w)]


def job_variant_spec(w):
    """What a training job computes from (``variant_spec``): the same for each of its runs."""
    return cnnlab_config.variant_spec(job_specs(w)[0])


# A run that trains exactly what an earlier run trains (same spec but for study, variant
# and label: Task 1's residual CNN is Task 3's basic-block ResNet) is not trained again: its
# folder gets a copy of that run's files, with its own spec in metrics.json. share_run's
# wildcards match only those runs' names (and where names cross, runs that are not shared:
# for them its input names no file that exists or can be made, so Snakemake falls back to
# `train`; the ruleorder says which to try first).
SHARED_RUNS = shared_runs(RUNS)
# Finished runs that lost a file since ({run: missing files}, cnnlab.run_files):
# every rule that reads such a run asks for its missing files too (its input `lost`), which
# retrain_incomplete makes (it declares every file of a run). Not looked for in a cluster
# job, which only runs the job it was given.
INCOMPLETE_RUNS = {} if workflow.remote_exec else incomplete_runs(RUNS)
if INCOMPLETE_RUNS:
    print(
        f"{len(INCOMPLETE_RUNS)} finished run(s) lack files, retrained when a rule that "
        "reads them runs, or when asked for, e.g. snakemake --cores 1 "
        + " ".join(
            f"{run}/{names[0]}" for run, names in list(INCOMPLETE_RUNS.items())[:3]
        ),
        file=sys.stderr,
    )


def lost_files(runs):
    """The files finished runs among ``runs`` lost (INCOMPLETE_RUNS), asked for beside their
    metrics.json, so that they are retrained first; usually none."""
    return run_files.lost_files(runs, INCOMPLETE_RUNS)


# The runs of each study's dataset, and one file that stands for all of them (rule
# runs_index): a rule that reads every run of a study's dataset asks for that file, not for
# each run (cnnlab.run_files.reader_inputs). A figure of a study of 10,000 runs is then one
# dependency, not 10,000, and planning stays near Snakemake's floor (benchmarks/dag.py).
RUN_GROUPS = run_groups(RUNS)


def run_inputs(runs):
    """What a rule that reads ``runs`` asks for (cnnlab.run_files.reader_inputs); it reads
    the runs' files through its `runs` parameter (run_metrics)."""
    return reader_inputs(runs, RUNS, RUN_GROUPS, INCOMPLETE_RUNS)


def run_metrics(runs):
    """The metrics.json of each of ``runs``: a rule that reads runs gets them as its `runs`
    parameter and finds their other files beside them (cnnlab.run_files.beside)."""
    return [f"{run}/metrics.json" for run in runs]


def names_pattern(runs):
    """Wildcard patterns that match the study, dataset and variant names of ``runs`` (of a
    rule that only these runs need): every other run then has one candidate rule, not
    two, in a plan of 10,000 runs. "(?!)" matches nothing."""
    return {
        key: "|".join(sorted({re.escape(RUNS[run][key]) for run in runs})) or "(?!)"
        for key in ("study", "dataset", "variant")
    }


def shared_run_sources(w):
    sources = [SHARED_RUNS.get(run) for run in job_runs(w)]
    if None in sources:
        return "results/.trained-here-not-shared"  # nothing makes it, so `train` runs
    return [f"{source}/metrics.json" for source in sources]

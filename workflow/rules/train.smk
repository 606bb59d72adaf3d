# One job per run, results/runs/<study>/<dataset>/<variant>/seed<seed>/, or, where the
# scale says `train_job_per: variant`, one job per variant that trains its seeds one after the
# other (one start-up of PyTorch instead of three; the same files, logs and resume files per
# seed). The runs' full specs are a parameter, so a changed spec reruns exactly its job.
# One thread per job: on CPUs several 1-thread jobs side by side do more work than fewer
# jobs with more threads (benchmarks/threads.py, BENCHMARKS.md). Change with
# `--set-threads train=N`. A job stopped by SIGTERM saves results/resume/<run>.pt and the
# next attempt (--retries, a rerun) resumes from it. The job also writes the confusion
# matrix and per-class accuracy from its last test evaluation: no second process has to
# load the model again.
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
RUN_FILES = [
    "model.pt",
    "history.csv",
    "curve.csv",
    "grad_norms.csv",
    "steps.csv",
    "confusion.csv",
    "per_class.csv",
    "metrics.json",
]


# Snakemake's own measurement of each training job (seconds, peak memory), for the
# summary's job_seconds and peak_memory_mb.
TRAIN_BENCHMARK = (
    "results/benchmarks/train/{study}/{dataset}/{variant}"
    + ("" if TRAIN_JOB_PER == "variant" else "/seed{seed}")
    + ".tsv"
)


def train_benchmark(run):
    """The benchmark file of the job that trained ``run`` (another run's, if shared)."""
    return TRAIN_BENCHMARK.format(**RUNS[SHARED_RUNS.get(run, run)])


def job_runs(w):
    return [run.format(**dict(w.items())) for run in JOB_RUNS]


def job_specs(w):
    return [run_spec(run) for run in job_runs(w)]


rule train:
    """Train the job's runs (one, or every seed of a variant) and write all of their files."""
    input:
        data=prepared_data,
    output:
        [f"{run}/{name}" for run in JOB_RUNS for name in RUN_FILES],
    log:
        [cnnlab_config.log_path(run, "train") for run in JOB_RUNS],
    benchmark:
        TRAIN_BENCHMARK
    # The most expensive runs start first, so that no long run is left for the end.
    priority: lambda w: max(RUN_PRIORITY.get(run, 0) for run in job_runs(w))
    threads: 1
    resources:
        gpu=0,
    params:
        specs=job_specs,
        run_dirs=job_runs,
        code=TRAINING_CODE,
        resume=lambda w: [cnnlab_config.resume_path(run) for run in job_runs(w)],
        gpu_locks=cnnlab_config.GPU_LOCKS,
        jobs_per_gpu=config["jobs_per_gpu"],
    script:
        "../../scripts/train.py"


# A run that trains exactly what an earlier run trains (same spec but for study, variant
# and label: Task 1's residual CNN is Task 3's basic-block ResNet) is not trained again: its
# folder gets a copy of that run's files, with its own spec in metrics.json. For every
# other run this rule's input names no file that exists or can be made, so Snakemake falls
# back to `train` (the ruleorder says which to try first).
SHARED_RUNS = shared_runs(RUNS)


def shared_run_sources(w):
    sources = [SHARED_RUNS.get(run) for run in job_runs(w)]
    if None in sources:
        return "results/.trained-here-not-shared"  # no rule makes it: use `train`
    return [f"{source}/{name}" for source in sources for name in RUN_FILES]


ruleorder: share_run > train


localrules:
    share_run,


rule share_run:
    """Copy the files of the run that trained this run's network (see SHARED_RUNS)."""
    input:
        shared_run_sources,
    output:
        rules.train.output,
    log:
        [cnnlab_config.log_path(run, "share_run") for run in JOB_RUNS],
    params:
        specs=job_specs,
        run_dirs=job_runs,
        sources=lambda w: [SHARED_RUNS[run] for run in job_runs(w)],
    script:
        "../../scripts/share_run.py"

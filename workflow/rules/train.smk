# One job per run: results/runs/<study>/<dataset>/<variant>/seed<seed>/.
# The run's full spec is a parameter, so a changed spec reruns exactly that run.
# One thread per job: on CPUs several 1-thread jobs side by side do more work than fewer
# jobs with more threads (benchmarks/threads.py, BENCHMARKS.md). Change with
# `--set-threads train=N`. A job stopped by SIGTERM saves results/resume/<run>.pt and the
# next attempt (--retries, a rerun) resumes from it. The job also writes the confusion
# matrix and per-class accuracy from its last test evaluation: no second process has to
# load the model again.
RUN = cnnlab_config.run_dir("{study}", "{dataset}", "{variant}", "{seed}")


rule train:
    """Train one (study, dataset, variant, seed) and write all of its result files."""
    input:
        data=prepared_data,
        code=MODEL_CODE,
    output:
        model=f"{RUN}/model.pt",
        history=f"{RUN}/history.csv",
        curve=f"{RUN}/curve.csv",
        grad_norms=f"{RUN}/grad_norms.csv",
        steps=f"{RUN}/steps.csv",
        confusion=f"{RUN}/confusion.csv",
        per_class=f"{RUN}/per_class.csv",
        metrics=f"{RUN}/metrics.json",
    params:
        spec=run_spec,
        resume=lambda w: cnnlab_config.resume_path(run_path(w)),
        gpu_locks=cnnlab_config.GPU_LOCKS,
        jobs_per_gpu=config["jobs_per_gpu"],
    threads: 1
    # The most expensive runs start first, so that no long run is left for the end.
    priority: lambda w: RUN_PRIORITY.get(run_path(w), 0)
    resources:
        gpu=0,
    log:
        "results/logs/train/{study}/{dataset}/{variant}/seed{seed}.log",
    script:
        "../../scripts/train.py"


# A run that trains exactly what an earlier run trains (same spec but for study, variant
# and label: Task 1's residual CNN is Task 3's basic-block ResNet) is not trained again: its
# folder gets a copy of that run's files, with its own spec in metrics.json. For every
# other run this rule's input names no file that exists or can be made, so Snakemake falls
# back to `train` (the ruleorder says which to try first).
SHARED_RUNS = cnnlab_config.shared_runs(RUNS)
RUN_FILES = [Path(f).name for f in rules.train.output]


def shared_run_source(w):
    source = SHARED_RUNS.get(run_path(w))
    if source is None:
        return "results/.trained-here-not-shared"  # no rule makes it: use `train`
    return [f"{source}/{name}" for name in RUN_FILES]


ruleorder: share_run > train


localrules:
    share_run,


rule share_run:
    """Copy the files of the run that trained this run's network (see SHARED_RUNS)."""
    input:
        shared_run_source,
    output:
        rules.train.output,
    params:
        spec=run_spec,
    log:
        "results/logs/share_run/{study}/{dataset}/{variant}/seed{seed}.log",
    script:
        "../../scripts/share_run.py"

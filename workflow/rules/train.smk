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
    threads: 1
    # The most expensive runs start first, so that no long run is left for the end.
    priority: lambda w: RUN_PRIORITY.get(run_path(w), 0)
    resources:
        gpu=0,
    log:
        "results/logs/train/{study}/{dataset}/{variant}/seed{seed}.log",
    script:
        "../../scripts/train.py"

# One job per run, results/runs/<study>/<dataset>/<variant>/seed<seed>/, or, where the
# scale says `train_job_per: variant`, one job per variant that trains its seeds one after the
# other (one start-up of PyTorch instead of three; the same files, logs and resume files per
# seed). What the job computes from is one parameter, the same for every seed and either
# shape of job: the variant's spec without seed, label or sweep (variant_spec). So a
# changed setting retrains exactly its variant's runs; relabelling, switching
# train_job_per or jobs_per_gpu (read from the config by the script) retrains nothing. The
# job's runs and seeds come from its output folders.
# One thread per job: on CPUs several 1-thread jobs side by side do more work than fewer
# jobs with more threads (benchmarks/threads.py; git show bd084b1:BENCHMARKS.md). Change with
# `--set-threads train=N`. A job stopped by SIGTERM saves results/resume/<run>.pt and the
# next attempt (--retries, a rerun) resumes from it. The job also writes the confusion
# matrix and per-class accuracy from its last test evaluation: no second process has to
# load the model again. Its output is each run's metrics.json, written last (the other files
# of a run beside it: cnnlab.files.RUN_FILES): one declared file per run keeps planning a
# study of 10,000 runs fast; a run killed before the end has no metrics.json and trains
# again, and a finished run that lost another file is retrained by retrain_incomplete.
rule train:
    """Train the job's runs (one, or every seed of a variant) and write all of their files."""
    input:
        data=prepared_data,
    output:
        [f"{run}/metrics.json" for run in JOB_RUNS],
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
        spec=job_variant_spec,
        code=TRAINING_CODE,
        gpu_locks=cnnlab_config.GPU_LOCKS,
    script:
        "../../scripts/train.py"


# A finished run (its metrics.json exists) that lost another of its files: the same job,
# declaring every file of its runs, so that Snakemake sees the missing one and retrains.
# Its wildcards match only those runs' names (INCOMPLETE_RUNS, usually none).
use rule train as retrain_incomplete with:
    output:
        [f"{run}/{name}" for run in JOB_RUNS for name in RUN_FILES],
    wildcard_constraints:
        **names_pattern(INCOMPLETE_RUNS),


# A run whose spec equals an earlier run's but for study, variant and label is copied, not
# trained again (SHARED_RUNS in common.smk). It declares every file it copies: the shared
# runs are few.
ruleorder: share_run > retrain_incomplete > train


localrules:
    share_run,


rule share_run:
    """Copy the files of the run that trained this run's network (see SHARED_RUNS)."""
    input:
        shared_run_sources,
    output:
        [f"{run}/{name}" for run in JOB_RUNS for name in RUN_FILES],
    log:
        [cnnlab_config.log_path(run, "share_run") for run in JOB_RUNS],
    wildcard_constraints:
        **names_pattern(SHARED_RUNS),
    params:
        specs=lambda w: [cnnlab_config.trained_spec(spec) for spec in job_specs(w)],
        run_dirs=job_runs,
        sources=lambda w: [SHARED_RUNS[run] for run in job_runs(w)],
    script:
        "../../scripts/share_run.py"

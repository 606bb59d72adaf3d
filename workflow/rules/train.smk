# One job per run: results/runs/<study>/<dataset>/<variant>/seed<seed>/.
# The run's full spec is a parameter, so a changed spec reruns exactly that run.
# One thread per job: on CPUs two 1-thread jobs side by side finish 1.63x sooner than one
# 2-thread job after another (benchmarks/threads.py, BENCHMARKS.md). Change with `--set-threads train=N`.
# A job stopped by SIGTERM saves results/resume/<run>.pt and the next attempt (--retries,
# a rerun) resumes from it.
RUN = "results/runs/{study}/{dataset}/{variant}/seed{seed}"


rule train:
    input:
        data=prepared_data,
        code=MODEL_CODE,
    output:
        model=f"{RUN}/model.pt",
        history=f"{RUN}/history.csv",
        grad_norms=f"{RUN}/grad_norms.csv",
        steps=f"{RUN}/steps.csv",
        metrics=f"{RUN}/metrics.json",
    params:
        spec=run_spec,
        resume=lambda w: cnnlab_config.resume_path(run_path(w)),
    threads: 1
    resources:
        gpu=0,
    log:
        "results/logs/train/{study}/{dataset}/{variant}/seed{seed}.log",
    script:
        "../../scripts/train.py"

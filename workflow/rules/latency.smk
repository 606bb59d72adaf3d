# Inference speed of every variant (its first seed's model), measured in one job that holds
# every core, so that no training job runs beside it (speeds measured next to a training
# job varied by +-40%). Its threads are set above any machine's and Snakemake caps them at
# the cores it has (`workflow.cores` is undefined under the SLURM executor). The job itself
# times on one thread, median of repeats.
localrules:
    latency,


rule latency:
    """Measure each variant's single-image latency and batched throughput on the CPU."""
    input:
        runs=run_inputs(run for run, spec in RUNS.items() if spec["seed"] == PROBE_SEED),
    output:
        "results/latency.csv",
    log:
        "results/logs/latency.log",
    threads: 1024  # more than any machine: Snakemake caps it at the cores it has
    params:
        code=library_code("latency.py"),
        # Each model.pt is read beside its run's metrics.json.
        runs=run_metrics(
            run for run, spec in RUNS.items() if spec["seed"] == PROBE_SEED
        ),
        specs=[
            cnnlab_config.trained_spec(spec)
            for spec in RUNS.values()
            if spec["seed"] == PROBE_SEED
        ],
    script:
        "../../scripts/latency.py"

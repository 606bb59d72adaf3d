# One tidy table, one row per run, in config order.
localrules:
    summary,


rule summary:
    """Gather every run's metrics.json, gradient facts (grad_norms.csv, steps.csv) and inference speed into
    results/summary.csv."""
    input:
        # Each run's grad_norms.csv and steps.csv are read beside it.
        metrics=[f"{run}/metrics.json" for run in RUNS],
        lost=lost_files(RUNS),
        latency="results/latency.csv",
    output:
        report(
            "results/summary.csv", caption="../report/summary.rst", category="summary"
        ),
    log:
        "results/logs/summary.log",
    params:
        code=library_code("summary.py"),
        # Read, not declared as inputs: a benchmark changes only with its job, whose
        # metrics.json (an input) reruns this rule anyway, and runs trained before
        # benchmark files were kept are not retrained for one (their costs read as NaN).
        benchmarks=[train_benchmark(run) for run in RUNS],
        # Labels and sweeps as the config shows them now: a relabelled run is not
        # retrained, so its metrics.json does not have them.
        shown=[cnnlab_config.shown_as(spec) for spec in RUNS.values()],
    script:
        "../../scripts/summary.py"

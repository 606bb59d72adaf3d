# One file that stands for every finished run of a study's dataset: the metrics.json of its
# runs, one per line. Rewritten when one of them is, so a rule that asks for it (run_inputs
# in common.smk) reruns as if it asked for each run.
localrules:
    runs_index,
    summary,


rule runs_index:
    """List the finished runs of one study's dataset (results/runs/<study>/<dataset>/runs.txt)."""
    input:
        runs=lambda w: run_metrics(RUN_GROUPS[w.study, w.dataset]),
        lost=lambda w: lost_files(RUN_GROUPS[w.study, w.dataset]),
    output:
        runs_index("{study}", "{dataset}"),
    run:
        Path(output[0]).write_text("".join(f"{path}\n" for path in input.runs))


# One tidy table, one row per run, in config order.


rule summary:
    """Gather every run's metrics.json, gradient facts (grad_norms.csv, steps.csv) and inference speed into
    results/summary.csv."""
    input:
        runs=run_inputs(RUNS),
        latency="results/latency.csv",
    output:
        report(
            "results/summary.csv", caption="../report/summary.rst", category="summary"
        ),
    log:
        "results/logs/summary.log",
    params:
        code=library_code("summary.py"),
        # Each run's metrics.json, its grad_norms.csv and steps.csv read beside it.
        runs=run_metrics(RUNS),
        # Read, not declared as inputs: a benchmark changes only with its job, whose
        # metrics.json (an input) reruns this rule anyway, and runs trained before
        # benchmark files were kept are not retrained for one (their costs read as NaN).
        benchmarks=[train_benchmark(run) for run in RUNS],
        # Labels and sweeps as the config shows them now: a relabelled run is not
        # retrained, so its metrics.json does not have them.
        shown=[cnnlab_config.shown_as(spec) for spec in RUNS.values()],
    script:
        "../../scripts/summary.py"

# One tidy table, one row per run, in config order.
localrules:
    summary,


rule summary:
    input:
        metrics=[f"{run}/metrics.json" for run in RUNS],
        code=lib("results"),
    output:
        "results/summary.csv",
    log:
        "results/logs/summary.log",
    script:
        "../../scripts/summary.py"

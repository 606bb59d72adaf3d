# The runs for browsing in MLflow and TensorBoard (docs/comparing.md): not part
# of the report, built only when asked for (snakemake --cores 1 export); needs the optional
# extra cnnlab[tracking]. The same as `cnnlab export`, from the files the runs declare.
localrules:
    export,


rule export:
    """Export every run to an MLflow store (results/tracking/mlflow.db) and TensorBoard
    event files (results/tracking/tensorboard)."""
    input:
        summary="results/summary.csv",
        # Each run's history.csv and curve.csv are read beside its metrics.json.
        runs=run_inputs(RUNS),
    output:
        directory("results/tracking"),
    log:
        "results/logs/export.log",
    params:
        code=library_code("export.py"),
    script:
        "../../scripts/export.py"

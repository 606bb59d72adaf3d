# Per run: confusion matrix and per-class accuracy on the run's test subset.
rule evaluate:
    input:
        model=f"{RUN}/model.pt",
        data=prepared_data,
        code=MODEL_CODE,
    output:
        confusion=f"{RUN}/confusion.csv",
        per_class=f"{RUN}/per_class.csv",
    threads: 1
    log:
        "results/logs/evaluate/{study}/{dataset}/{variant}/seed{seed}.log",
    script:
        "../../scripts/evaluate.py"

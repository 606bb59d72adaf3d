# One rule per kind of figure; each figure has a stable name from config keys and needs
# only its own runs, so `snakemake --cores 1 results/figures/<name>.png` rebuilds just it.
localrules:
    learning_curves,
    comparison,
    confusion,
    gradient_flow,


rule learning_curves:
    input:
        histories=lambda w: figure_runs(w, "learning_curves", "history.csv"),
        code=lib("plots", "results"),
    output:
        report(
            "results/figures/{name}_learning_curves.png",
            caption="../report/learning_curves.rst",
            category="{name}",
        ),
    params:
        specs=lambda w: figure_specs(w, "learning_curves"),
    log:
        "results/logs/figures/{name}_learning_curves.log",
    script:
        "../../scripts/plot_learning_curves.py"


rule comparison:
    input:
        metrics=lambda w: figure_runs(w, "comparison", "metrics.json"),
        code=lib("plots", "results"),
    output:
        report(
            "results/figures/{name}_comparison.png",
            caption="../report/comparison.rst",
            category="{name}",
        ),
    log:
        "results/logs/figures/{name}_comparison.log",
    script:
        "../../scripts/plot_comparison.py"


rule confusion:
    input:
        confusion=lambda w: figure_runs(w, "confusion", "confusion.csv"),
        code=lib("plots"),
    output:
        report(
            "results/figures/{name}_confusion.png",
            caption="../report/confusion.rst",
            category="confusion matrices",
        ),
    params:
        title=lambda w: "{study} / {dataset} / {variant}".format(**figure(w, "confusion")),
    log:
        "results/logs/figures/{name}_confusion.log",
    script:
        "../../scripts/plot_confusion.py"


rule gradient_flow:
    input:
        grad_norms=lambda w: figure_runs(w, "gradient_flow", "grad_norms.csv"),
        code=lib("plots", "results"),
    output:
        report(
            "results/figures/{name}_gradient_flow.png",
            caption="../report/gradient_flow.rst",
            category="gradient flow",
        ),
    params:
        specs=lambda w: figure_specs(w, "gradient_flow"),
    log:
        "results/logs/figures/{name}_gradient_flow.log",
    script:
        "../../scripts/plot_gradient_flow.py"

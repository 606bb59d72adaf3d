# One rule per kind of figure; each figure has a stable name from config keys and needs
# only its own runs, so `snakemake --cores 1 results/figures/<name>.png` rebuilds just it.
localrules:
    run_figure,
    comparison,
    confusion,
    probe_figure,

RUN_TABLES = {
    "learning_curves": "history.csv",
    "gradient_flow": "grad_norms.csv",
    "stability": "steps.csv",
}


rule run_figure:
    # Figures drawn from per-run tables: learning curves (history.csv), gradient flow
    # (grad_norms.csv) and training stability (steps.csv); the plot function has the
    # figure kind's name.
    input:
        tables=lambda w: figure_runs(w, w.kind, RUN_TABLES[w.kind]),
        code=lib("plots", "results"),
    output:
        report(
            "results/figures/{name}_{kind}.png",
            caption="../report/run_figure.rst",
            category="{kind}",
        ),
    params:
        specs=lambda w: figure_specs(w, w.kind),
    wildcard_constraints:
        kind="|".join(RUN_TABLES),
    log:
        "results/logs/figures/{name}_{kind}.log",
    script:
        "../../scripts/plot_run_tables.py"


rule comparison:
    """Figures drawn from the runs' final metrics: the comparison of a study's variants
    (accuracy vs parameters and time, latency) and a dataset's sweeps (accuracy vs each
    swept value); the plot function has the figure kind's name."""
    input:
        metrics=lambda w: figure_runs(w, w.kind, "metrics.json"),
        code=lib("plots", "results"),
    output:
        report(
            "results/figures/{name}_{kind}.png",
            caption="../report/comparison.rst",
            category="{name}",
        ),
    wildcard_constraints:
        kind="comparison|sweep",
    log:
        "results/logs/figures/{name}_{kind}.log",
    script:
        "../../scripts/plot_metrics.py"


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



rule probe_figure:
    # Figures that look inside the trained models (seed 0 of each variant): effective
    # receptive field, first-layer filters and activations, feature maps by depth.
    input:
        models=lambda w: [f for f in figure_runs(w, w.kind, "model.pt")
                          if f.endswith(f"/seed{min(SEEDS)}/model.pt")],
        data=lambda w: cnnlab_config.prepared_path(figure(w, w.kind)["dataset"], SYNTHETIC),
        code=[*MODEL_CODE, *lib("probes", "plots")],
    output:
        report(
            "results/figures/{name}_{kind}.png",
            caption="../report/probe_figure.rst",
            category="{kind}",
        ),
    params:
        specs=lambda w: [s for s in figure_specs(w, w.kind) if s["seed"] == min(SEEDS)],
    wildcard_constraints:
        kind="receptive_field|first_layer|feature_maps",
    log:
        "results/logs/figures/{name}_{kind}.log",
    script:
        "../../scripts/plot_probes.py"


rule unknown_figure:
    """Any other figure name: an error that lists the figures this config defines."""
    output:
        "results/figures/{stem}.png",
    input:
        lambda w: unknown_figure(w.stem),
    wildcard_constraints:
        # Every name but the config's figures, which the rules above make (the lookahead
        # sees the rest of the path, hence the ".png").
        stem=r"(?!(?:{})\.png$).+".format("|".join(re.escape(name) for name in FIGURES)),

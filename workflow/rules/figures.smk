# One rule per source of figures; each figure has a stable name from config keys and needs
# only its own runs, so `snakemake --cores 1 results/figures/<name>.png` rebuilds just it.
# What each kind is drawn from, its scope and its caption: src/cnnlab/report/figure_kinds.py.
localrules:
    run_figure,
    comparison,
    confusion,
    probe_figure,
    unknown_figure,


rule run_figure:
    """Figures drawn from per-run tables (learning curves: curve.csv, gradient flow:
    grad_norms.csv, stability: steps.csv); the plot function has the kind's name."""
    input:
        # Each run's table (the kind's drawn_from) is read beside its metrics.json.
        runs=lambda w: figure_inputs(w, w.kind),
    output:
        figure_report("results/figures/{name}_{kind}.png"),
    log:
        "results/logs/figures/{name}_{kind}.log",
    wildcard_constraints:
        kind=kind_pattern(
            kinds_from("history.csv")
            + kinds_from("curve.csv")
            + kinds_from("grad_norms.csv")
            + kinds_from("steps.csv")
        ),
    params:
        code=library_code("plot_run_tables.py"),
        runs=lambda w: figure_runs(w, w.kind),
        specs=lambda w: figure_specs(w, w.kind),
        caption=figure_caption,
        title=lambda w: figure(w, w.kind)["title"],
    script:
        "../../scripts/plot_run_tables.py"


rule comparison:
    """Figures drawn from the runs' final metrics: the comparison of a study's variants
    (accuracy vs parameters and time, latency) and a dataset's sweeps (accuracy vs each
    swept value); the plot function has the kind's name."""
    input:
        runs=lambda w: figure_inputs(w, w.kind),
    output:
        figure_report("results/figures/{name}_{kind}.png"),
    log:
        "results/logs/figures/{name}_{kind}.log",
    wildcard_constraints:
        kind=kind_pattern(kinds_from("metrics.json")),
    params:
        code=library_code("plot_metrics.py"),
        runs=lambda w: figure_runs(w, w.kind),
        shown=lambda w: figure_shown(w, w.kind),
        caption=figure_caption,
        title=lambda w: figure(w, w.kind)["title"],
    script:
        "../../scripts/plot_metrics.py"


rule confusion:
    """The confusion matrices of a study's dataset, one per variant, summed over seeds."""
    input:
        runs=lambda w: figure_inputs(w, "confusion"),
    output:
        figure_report("results/figures/{name}_confusion.png", kind="confusion"),
    log:
        "results/logs/figures/{name}_confusion.log",
    params:
        code=library_code("plot_confusion.py"),
        runs=lambda w: figure_runs(w, "confusion"),
        title=lambda w: figure(w, "confusion")["title"],
        labels=lambda w: [spec["label"] for spec in figure_specs(w, "confusion")],
        caption=figure_caption,
    script:
        "../../scripts/plot_confusion.py"


rule probe_figure:
    """Figures that look inside the trained models (the first seed of each variant):
    effective receptive field, first-layer filters and activations, feature maps by depth.
    """
    input:
        runs=lambda w: figure_inputs(w, w.kind),
        data=lambda w: prepared(figure(w, w.kind)["dataset"]),
    output:
        figure_report("results/figures/{name}_{kind}.png"),
    log:
        "results/logs/figures/{name}_{kind}.log",
    wildcard_constraints:
        kind=kind_pattern(PROBES),
    params:
        code=library_code("plot_probes.py"),
        runs=lambda w: figure_runs(w, w.kind),
        specs=lambda w: figure_specs(w, w.kind),
        caption=figure_caption,
        title=lambda w: figure(w, w.kind)["title"],
    script:
        "../../scripts/plot_probes.py"


rule unknown_figure:
    """Any other figure name: an error that lists the figures this config defines."""
    input:
        lambda w: unknown_figure(w.stem),
    output:
        "results/figures/{stem}.png",
    wildcard_constraints:
        # Every name but the config's figures, which the rules above make (the lookahead
        # sees the rest of the path, hence the ".png").
        stem=r"(?!(?:{})\.png$).+".format("|".join(re.escape(name) for name in FIGURES)),

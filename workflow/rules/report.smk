# The report: Markdown + HTML rendered with Jinja2 from summary.csv, with the figures
# copied beside it so that the folder can be moved or mailed as a whole.
localrules:
    report,


TEMPLATES = WORKFLOW_DIR / "templates"


rule report:
    """Render results/report/report.{md,html} (and a standalone HTML) from summary.csv."""
    input:
        summary="results/summary.csv",
        # Only where a run's model is built from the custom layers (plan.custom_layers).
        verification=(
            ["results/verification/custom_layers.csv"]
            if needs_layer_verification(RUNS)
            else []
        ),
        data=DATA_PROVENANCE,
        figures=[f"results/figures/{name}.png" for name in FIGURES],
        templates=[str(TEMPLATES / "report.md.j2"), str(TEMPLATES / "report.html.j2")],
        # --config baseline=DIR: the earlier build the report compares this one with.
        baseline=(
            [os.path.join(config["baseline"], "summary.csv")]
            if config.get("baseline")
            else []
        ),
    output:
        md="results/report/report.md",
        html="results/report/report.html",
        standalone="results/report/report-standalone.html",
        figures=[f"results/report/figures/{name}.png" for name in FIGURES],
    log:
        "results/logs/report.log",
    params:
        code=library_code("report.py"),
        studies=STUDY_CONFIG["studies"],
        figures=FIGURES,
        scale=config["scale"],
        varied_objects={
            ds: d["varied_objects"]
            for ds, d in (config.get("datasets") or {}).items()
            if "varied_objects" in d
        },
        templates=lambda w, input: os.path.dirname(input.templates[0]),
        baseline=config.get("baseline", ""),
        # Read, not declared: summary.csv (an input) is rebuilt whenever a run is, and a
        # run's per_class.csv is written with its metrics.json.
        per_class=[f"{run}/per_class.csv" for run in RUNS],
    script:
        "../../scripts/report.py"

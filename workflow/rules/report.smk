# The report: Markdown + HTML rendered with Jinja2 from summary.csv, with the figures
# copied beside it so that the folder can be moved or mailed as a whole.
localrules:
    report,

TEMPLATES = Path(workflow.basedir) / "workflow" / "templates"


rule report:
    """Render results/report/report.{md,html} (and a standalone HTML) from summary.csv."""
    input:
        summary="results/summary.csv",
        verification="results/verification/custom_layers.csv",
        per_class=[f"{run}/per_class.csv" for run in RUNS],
        data=DATA_PROVENANCE,
        figures=[f"results/figures/{name}.png" for name in FIGURES],
        templates=[str(TEMPLATES / "report.md.j2"), str(TEMPLATES / "report.html.j2")],
        code=lib("report", "report_tables", "findings", "questions", "depth_questions",
                 "answer", "significance", "results"),
    output:
        md="results/report/report.md",
        html="results/report/report.html",
        standalone="results/report/report-standalone.html",
        figures=[f"results/report/figures/{name}.png" for name in FIGURES],
    params:
        studies=STUDY_CONFIG["studies"],
        figures=FIGURES,
        scale=config["scale"],
        templates=lambda w, input: os.path.dirname(input.templates[0]),
    log:
        "results/logs/report.log",
    script:
        "../../scripts/report.py"

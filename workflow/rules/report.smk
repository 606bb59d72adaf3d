# The report: Markdown + HTML rendered with Jinja2 from summary.csv, with the figures
# copied beside it so that the folder can be moved or mailed as a whole.
localrules:
    report,

TEMPLATES = Path(workflow.basedir) / "workflow" / "templates"


rule report:
    input:
        summary="results/summary.csv",
        figures=[f"results/figures/{name}.png" for name in FIGURES],
        templates=[str(TEMPLATES / "report.md.j2"), str(TEMPLATES / "report.html.j2")],
        code=lib("report", "findings", "results"),
    output:
        md="results/report/report.md",
        html="results/report/report.html",
        figures=[f"results/report/figures/{name}.png" for name in FIGURES],
    params:
        studies=config["studies"],
        figures=FIGURES,
        scale=config["scale"],
        data_source=DATA_SOURCE if DATA_SOURCE != "mirror" else f"mirror {DATA_MIRROR}",
        templates=str(TEMPLATES),
    log:
        "results/logs/report.log",
    script:
        "../../scripts/report.py"

# cnnlab: `snakemake --cores 4 report` trains every run the config declares, evaluates,
# aggregates, draws the figures and renders the report. This file only wires rules
# together; the logic lives in the cnnlab package (src/cnnlab) and workflow/rules/common.smk.
from snakemake.utils import min_version

min_version("9.0")


configfile: os.path.join(workflow.basedir, "config.yaml")


include: "workflow/rules/common.smk"


rule all:
    input:
        "results/report/report.md",
        "results/report/report.html",
        "results/report/report-standalone.html",
    default_target: True


include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"

# cnnlab: `snakemake --cores 4 report` trains every run the config declares, evaluates,
# aggregates, draws the figures and renders the report. This file only wires rules
# together; the logic lives in the cnnlab package (src/cnnlab) and workflow/rules/common.smk.
# `snakemake --lint` asks for a conda environment or container per rule; there is none on
# purpose: every rule runs the one cnnlab package (`pip install -e .`, PyTorch pinned in
# pyproject.toml), and a per-rule environment would install PyTorch once per rule.
from snakemake.utils import min_version

min_version("9.0")


# No `configfile:` here: common.smk fills the config from cnnlab's defaults
# (src/cnnlab/defaults.yaml) and, unless the config given names studies of its own, adds
# cnnlab's own studies from config.yaml beside this file (cnnlab.plan.defaults).
include: "workflow/rules/common.smk"


# The report and everything it needs (the default target). A comment, not a docstring:
# snakefmt moves `default_target` above a docstring, where Snakemake rejects it.
rule all:
    default_target: True
    input:
        "results/report/report.md",
        "results/report/report.html",
        "results/report/report-standalone.html",


include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/verify.smk"
include: "workflow/rules/latency.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/export.smk"

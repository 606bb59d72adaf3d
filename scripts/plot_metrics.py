"""Rule comparison: adapter to the cnnlab.report.plots function named by the figure kind
(comparison, sweep), drawn from the runs' metrics.json."""
from cnnlab.report import plots
from cnnlab.logs import log_to
from cnnlab.analysis.summary import build_summary

with log_to(snakemake.log[0]):
    draw = getattr(plots, snakemake.wildcards.kind)
    draw(build_summary(snakemake.params.runs, shown=snakemake.params.shown),
         snakemake.output[0],
         title=snakemake.params.title)

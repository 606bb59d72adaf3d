"""Rule comparison: adapter to cnnlab.plots.comparison."""
from cnnlab.logs import log_to
from cnnlab.plots import comparison
from cnnlab.results import build_summary

with log_to(snakemake.log[0]):
    comparison(build_summary(snakemake.input.metrics), snakemake.output[0],
               title=snakemake.wildcards.name)

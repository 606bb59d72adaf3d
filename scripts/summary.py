"""Rule summary: adapter to cnnlab.results.build_summary."""
from cnnlab.logs import log_to
from cnnlab.results import build_summary

with log_to(snakemake.log[0]):
    build_summary(snakemake.input.metrics).to_csv(snakemake.output[0], index=False)

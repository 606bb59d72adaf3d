"""Rule gradient_flow: adapter to cnnlab.plots.gradient_flow."""
from cnnlab.logs import log_to
from cnnlab.plots import gradient_flow
from cnnlab.results import read_run_tables

with log_to(snakemake.log[0]):
    gradient_flow(read_run_tables(snakemake.input.grad_norms, snakemake.params.specs),
                  snakemake.output[0], title=snakemake.wildcards.name)

"""Rule learning_curves: adapter to cnnlab.plots.learning_curves."""
from cnnlab.logs import log_to
from cnnlab.plots import learning_curves
from cnnlab.results import read_run_tables

with log_to(snakemake.log[0]):
    learning_curves(read_run_tables(snakemake.input.histories, snakemake.params.specs),
                    snakemake.output[0], title=snakemake.wildcards.name)

"""Rule latency: adapter to cnnlab.models.speed.latency_table (one thread, nothing beside it)."""
from cnnlab.run_files import beside
from cnnlab.training.device import configure_threads
from cnnlab.models.speed import latency_table
from cnnlab.logs import log_to

with log_to(snakemake.log[0]):
    configure_threads(1)
    table = latency_table(beside(snakemake.params.runs, "model.pt"), snakemake.params.specs)
    table.to_csv(snakemake.output[0], index=False)
    print(table.to_string(index=False))

"""Rule verify_layers: adapter to cnnlab.models.verification.verify_layers."""
from cnnlab.training.device import configure_threads
from cnnlab.logs import log_to
from cnnlab.models.verification import verify_layers

with log_to(snakemake.log[0]):
    configure_threads(snakemake.threads)
    table = verify_layers()
    table.to_csv(snakemake.output[0], index=False)
    print(table.to_string(index=False))

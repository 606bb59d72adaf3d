"""Rule prepare_data / prepare_synthetic_data: adapter to cnnlab.datasets.prepare."""
from cnnlab.datasets import prepare
from cnnlab.logs import log_to

with log_to(snakemake.log[0]):
    p = snakemake.params
    print(prepare(snakemake.wildcards.dataset, snakemake.output[0], p.source,
                  mirror=p.mirror or None, download_root=p.download_root or None))

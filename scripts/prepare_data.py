"""Rule prepare_data / prepare_synthetic_data: adapter to cnnlab.data.prepare."""
import json

from cnnlab.data.prepared import prepare
from cnnlab.logs import log_to

with log_to(snakemake.log[0]):
    p = snakemake.params
    provenance = prepare(snakemake.wildcards.dataset, snakemake.output.data, p.source,
                         mirror=p.mirror or None, download_root=p.download_root or None)
    print(json.dumps(provenance, indent=2))
    with open(snakemake.output.provenance, "w") as f:
        json.dump(provenance, f, indent=2)

"""Rule prepare_data / prepare_synthetic_data: adapter to cnnlab.data.prepare. The source
is the rule's (synthetic, or the offline mirror when the config names one, else download)."""
import json

from cnnlab.data.prepared import prepare
from cnnlab.logs import log_to
from cnnlab.data.mirror import data_mirror

with log_to(snakemake.log[0]):
    mirror = data_mirror(snakemake.config)
    source = ("synthetic" if snakemake.params.synthetic
              else "mirror" if mirror else "download")
    provenance = prepare(snakemake.wildcards.dataset, snakemake.output.data, source,
                         mirror=mirror or None,
                         download_root=snakemake.params.download_root or None)
    print(json.dumps(provenance, indent=2))
    with open(snakemake.output.provenance, "w") as f:
        json.dump(provenance, f, indent=2)

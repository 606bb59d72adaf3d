"""Rule share_run: adapter to cnnlab.shared_run.copy_shared_run."""
from cnnlab.logs import log_to
from cnnlab.shared_run import copy_shared_run

with log_to(snakemake.log[0]):
    copy_shared_run(snakemake.input, snakemake.output, snakemake.params.spec)
    print(f"{snakemake.params.spec['study']}/{snakemake.params.spec['variant']}: "
          f"the files of {snakemake.input[0].rsplit('/', 1)[0]}, trained once for both")

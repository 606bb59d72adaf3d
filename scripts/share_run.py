"""Rule share_run: adapter to cnnlab.plan.shared_runs.copy_shared_run, once per run of the job."""
from cnnlab.files import RUN_FILES
from cnnlab.logs import log_to
from cnnlab.plan.shared_runs import copy_shared_run

for spec, run, source, log in zip(snakemake.params.specs, snakemake.params.run_dirs,
                                  snakemake.params.sources, snakemake.log):
    with log_to(log):
        copy_shared_run([f"{source}/{name}" for name in RUN_FILES],
                        [f for f in snakemake.output if f.startswith(f"{run}/")], spec)
        print(f"{spec['study']}/{spec['variant']} seed {spec['seed']}: the files of {source}, "
              f"trained once for both")

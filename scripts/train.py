"""Rule train: adapter to cnnlab.training.job.train_job (one run, or every seed of a
variant when the scale says train_job_per: variant)."""
from cnnlab.data.prepared import load_prepared
from cnnlab.training.gpus import claim_gpu
from cnnlab.training.job import train_job

train_job(snakemake.params.specs, lambda: load_prepared(snakemake.input.data),
          snakemake.params.run_dirs, snakemake.params.resume, snakemake.log,
          threads=snakemake.threads,
          hold_device=lambda: claim_gpu(snakemake.params.gpu_locks, snakemake.resources.gpu,
                                        jobs_per_gpu=snakemake.params.jobs_per_gpu))

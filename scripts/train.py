"""Rule train: adapter to cnnlab.training.job.train_job (one run, or every seed of a
variant when the scale says train_job_per: variant). The job's runs are the folders of its
outputs; each run's spec is the variant's (the rule's one parameter) with its seed."""
from cnnlab.data.prepared import load_prepared
from cnnlab.plan.config import job_run_specs, resume_path
from cnnlab.training.gpus import claim_gpu
from cnnlab.training.job import train_job

runs = job_run_specs(snakemake.params.spec, snakemake.output)
train_job(list(runs.values()), lambda: load_prepared(snakemake.input.data), list(runs),
          [resume_path(run) for run in runs], snakemake.log, threads=snakemake.threads,
          # Not a parameter: how many jobs share a GPU changes no result, so no rerun.
          hold_device=lambda: claim_gpu(snakemake.params.gpu_locks, snakemake.resources.gpu,
                                        jobs_per_gpu=snakemake.config.get("jobs_per_gpu", 1)))

"""Rule train: adapter to cnnlab.training.run_training."""
from pathlib import Path

from cnnlab.datasets import load_prepared
from cnnlab.gpus import claim_gpu
from cnnlab.logs import log_to
from cnnlab.training import run_training

with log_to(snakemake.log[0]), claim_gpu(snakemake.params.gpu_locks, snakemake.resources.gpu,
                                         jobs_per_gpu=snakemake.params.jobs_per_gpu):
    run_training(snakemake.params.spec, load_prepared(snakemake.input.data),
                 Path(snakemake.output.metrics).parent, threads=snakemake.threads,
                 resume_file=snakemake.params.resume)

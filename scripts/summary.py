"""Rule summary: adapter to cnnlab.analysis.summary.build_summary."""
import pandas as pd

from cnnlab.logs import log_to
from cnnlab.analysis.summary import build_summary

with log_to(snakemake.log[0]):
    summary = build_summary(snakemake.params.runs, pd.read_csv(snakemake.input.latency),
                            snakemake.params.benchmarks, snakemake.params.shown)
    summary.to_csv(snakemake.output[0], index=False)

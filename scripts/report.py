"""Rule report: adapter to cnnlab.report."""
import pandas as pd

from cnnlab.logs import log_to
from cnnlab.report import build_context, render

with log_to(snakemake.log[0]):
    p = snakemake.params
    context = build_context(pd.read_csv(snakemake.input.summary), p.studies, p.figures,
                            p.scale, p.data_source)
    render(context, p.templates, snakemake.output.md, snakemake.output.html,
           snakemake.input.figures)

"""Rule report: adapter to cnnlab.report.render."""
import json
import os

import pandas as pd

from cnnlab.logs import log_to
from cnnlab.report.comparison_files import report_section
from cnnlab.report.render import build_context, render
from cnnlab.report.tables import read_per_class

with log_to(snakemake.log[0]):
    p = snakemake.params
    data = [json.load(open(path)) for path in snakemake.input.data]
    # The custom layers' check, where the config's models use them (else no section).
    verification = (pd.read_csv(snakemake.input.verification[0])
                    if snakemake.input.verification else None)
    context = build_context(pd.read_csv(snakemake.input.summary), p.studies, p.figures,
                            p.scale, data, verification,
                            read_per_class(p.per_class), p.varied_objects)
    if p.baseline:
        context["baseline_comparison"] = report_section(
            p.baseline, os.path.dirname(snakemake.input.summary))
    render(context, p.templates, snakemake.output.md, snakemake.output.html,
           snakemake.input.figures, standalone_path=snakemake.output.standalone)

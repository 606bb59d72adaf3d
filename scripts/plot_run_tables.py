"""Rule run_figure: adapter to the cnnlab.report.plots function named by the figure kind."""
from cnnlab.report import plots
from cnnlab.logs import log_to
from cnnlab.analysis.summary import read_run_tables
from cnnlab.run_files import beside
from cnnlab.report.figure_kinds import KINDS

with log_to(snakemake.log[0]):
    draw = getattr(plots, snakemake.wildcards.kind)
    tables = beside(snakemake.params.runs, KINDS[snakemake.wildcards.kind].drawn_from)
    draw(read_run_tables(tables, snakemake.params.specs), snakemake.output[0],
         title=snakemake.params.title)

"""Rule confusion: adapter to cnnlab.report.plots.confusion (each variant's seeds summed)."""
from cnnlab.analysis.run_tables import read_confusion_csv
from cnnlab.run_files import beside
from cnnlab.logs import log_to
from cnnlab.report.plots import confusion

with log_to(snakemake.log[0]):
    matrices = {}
    for path, label in zip(beside(snakemake.params.runs, "confusion.csv"), snakemake.params.labels):
        matrix = read_confusion_csv(path)  # class names as text: 007, NA
        matrices[label] = matrices[label] + matrix if label in matrices else matrix
    confusion(matrices, snakemake.output[0], title=snakemake.params.title)

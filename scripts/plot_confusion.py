"""Rule confusion: adapter to cnnlab.plots.confusion_heatmap (seeds summed)."""
import pandas as pd

from cnnlab.logs import log_to
from cnnlab.plots import confusion_heatmap

with log_to(snakemake.log[0]):
    total = sum(pd.read_csv(path, index_col=0) for path in snakemake.input.confusion)
    confusion_heatmap(total, snakemake.output[0], title=snakemake.params.title)

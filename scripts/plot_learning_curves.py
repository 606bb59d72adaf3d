"""Rule learning_curves: adapter to cnnlab.plots.learning_curves."""
import pandas as pd

from cnnlab.logs import log_to
from cnnlab.plots import learning_curves

with log_to(snakemake.log[0]):
    frames = [pd.read_csv(path).assign(dataset=spec["dataset"], label=spec["label"],
                                       seed=spec["seed"])
              for path, spec in zip(snakemake.input.histories, snakemake.params.specs)]
    learning_curves(pd.concat(frames, ignore_index=True), snakemake.output[0],
                    title=snakemake.wildcards.name)

"""Rule probe_figure: look inside each variant's probe-seed model (cnnlab.models.probes) and draw
the figure of the kind (cnnlab.report.plots.probe_figure)."""
import torch

from cnnlab.report import plots
from cnnlab.models import probes
from cnnlab.models.checkpoint import load_checkpoint, normalize
from cnnlab.data.prepared import load_prepared
from cnnlab.run_files import beside
from cnnlab.logs import log_to

IMAGES = 8  # the first test images: fixed, the same for every model

with log_to(snakemake.log[0]):
    images = torch.from_numpy(load_prepared(snakemake.input.data).test_images[:IMAGES])
    kind, rows = snakemake.wildcards.kind, []
    for path, spec in zip(beside(snakemake.params.runs, "model.pt"), snakemake.params.specs):
        model, ckpt = load_checkpoint(path)
        rows.append((spec["label"], *probes.probe(kind, model, normalize(images, ckpt))))
    plots.probe_figure(kind, rows, images[0].float().numpy() / 255, snakemake.output[0],
                       title=snakemake.params.title)

"""Rule probe_figure: look inside each variant's probe-seed model (cnnlab.probes) and draw
the figure named by the kind (cnnlab.plots)."""
import torch

from cnnlab import plots, probes
from cnnlab.architecture import receptive_fields
from cnnlab.datasets import load_prepared
from cnnlab.logs import log_to
from cnnlab.checkpoint import load_checkpoint, normalize

IMAGES = 8  # the first test images: fixed, the same for every model

with log_to(snakemake.log[0]):
    data = load_prepared(snakemake.input.data)
    images = torch.from_numpy(data.test_images[:IMAGES])
    kind, rows = snakemake.wildcards.kind, []
    for path, spec in zip(snakemake.input.models, snakemake.params.specs):
        model, ckpt = load_checkpoint(path)
        x = normalize(images, ckpt)
        if kind == "receptive_field":
            rf = receptive_fields(model)[-1].receptive_field
            rows.append((spec["label"], probes.effective_receptive_field(model, x).numpy(), rf))
        elif kind == "first_layer":
            weights, acts = probes.first_layer(model, x[:1])
            rows.append((spec["label"], weights.numpy(), acts[0].numpy()))
        else:
            maps = probes.feature_maps(model, x[:1])
            rows.append((spec["label"], [m[0].abs().mean(0).numpy() for m in maps]))
    name = snakemake.wildcards.name
    if kind == "receptive_field":
        plots.receptive_field_grid(rows, snakemake.output[0], title=name)
    elif kind == "first_layer":
        plots.first_layer_grid(rows, snakemake.output[0], title=name)
    else:
        plots.feature_map_grid(rows, images[0].float().numpy() / 255, snakemake.output[0], title=name)

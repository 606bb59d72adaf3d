"""Every kind of figure the workflow draws, in one place: what it is drawn from, per what
(a study, a dataset of a study, a variant) and its caption. Config expansion
(``plan.figures.figure_names``), the figure rules, the report and Snakemake's own ``--report``
captions all read this table. Adding a kind: one entry here, its drawing function in
``plots.py`` (named like the kind), and its rule's wildcard pattern in figures.smk when
it is drawn from a file no rule reads yet (see docs/studies.md, "Adding a figure").

Plain Python, no imports: the workflow reads it on every start.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FigureKind:
    scope: str       # "study", "dataset" (of a study) or "variant" (of a study's dataset)
    drawn_from: str  # the per-run file it reads ("model.pt": the probe seed's checkpoint)
    caption: str
    probe: bool = False  # drawn only where a study lists it under `probes:`
    sweeps_only: bool = False  # drawn from the sweep points' runs only (and only where some are)


PROBE_SEED = "the first seed"  # probes look inside one model per variant: the first seed's

KINDS: dict[str, FigureKind] = {
    "learning_curves": FigureKind(
        "study", "curve.csv",
        "Learning curves: train (solid: the batches since the previous point) and "
        "validation (dashed: a fixed subset of the validation images, carved from the "
        "training split and never trained on) loss and accuracy at evenly spaced "
        "points of each run, one row per dataset on its own epoch axis, one colour per "
        "model variant; bands show the spread over seeds. Look for the gap between solid "
        "and dashed lines (overfitting) and for curves still falling at the end (the run "
        "would gain from more training)."),
    "comparison": FigureKind(
        "study", "metrics.json",
        "Test accuracy against parameter count and against training time, one point per "
        "run (colour: variant, marker: dataset); inference latency is in the diagnostics "
        "under each dataset's table. Look up and to the left: the most accuracy for the "
        "fewest parameters or seconds."),
    "gradient_flow": FigureKind(
        "dataset", "grad_norms.csv",
        "Gradient flow: median per-layer gradient norm by relative depth (left), first and "
        "last layer over training (right). Look for lines that fall towards the input "
        "(left panel): the gradient vanishes on its way back; a first layer far below the "
        "last (right) means the early layers barely learn."),
    "stability": FigureKind(
        "dataset", "steps.csv",
        "Training stability: batch loss and total gradient norm at every logged step; bands "
        "are the spread over seeds. Look for spikes and for gradient norms that grow by "
        "orders of magnitude: unstable training."),
    "sweep": FigureKind(
        "dataset", "metrics.json",
        "Sweeps: validation accuracy (images carved from the training split, never "
        "trained on; not the test split, so a value picked here is not tuned on the test "
        "set) against each swept value, one panel per swept setting, one line per base "
        "variant; mean and 95% confidence interval over seeds. Look for where a line turns "
        "down, and whether the intervals of two lines overlap there.",
        sweeps_only=True),
    "receptive_field": FigureKind(
        "dataset", "model.pt",
        f"Effective receptive field of each model ({PROBE_SEED}): input-gradient magnitude "
        "of the central unit of the last feature map, averaged over 8 test images; dashed: "
        "the theoretical receptive field. Look at how much of it the model really uses: the "
        "effective field is usually much smaller than the theoretical one.", probe=True),
    "first_layer": FigureKind(
        "dataset", "model.pt",
        f"First convolution layer ({PROBE_SEED}): learned filters, then the feature maps "
        "they produce for one test image. Look for edge- and colour-like filters (learned "
        "features) rather than noise (filters that barely trained).", probe=True),
    "feature_maps": FigureKind(
        "dataset", "model.pt",
        f"Feature maps at increasing depth ({PROBE_SEED}): mean absolute activation after "
        "each stage for the same test image. Look for maps that fade to uniform grey with "
        "depth: the signal died on its way forward.", probe=True),
    "confusion": FigureKind(
        "dataset", "confusion.csv",
        "Confusion matrices, one per variant, summed over seeds; each row shows where the "
        "images of one true class went, in percent. Look off the diagonal: which classes a "
        "model confuses (on CIFAR-10 typically cat with dog, automobile with truck). With "
        "more than 20 classes, each panel shows instead the 15 most confused pairs (true "
        "\u2192 predicted, percent of the true class's test images)."),
}

PROBES = [k for k, v in KINDS.items() if v.probe]


def kinds_from(filename: str) -> list[str]:
    """The kinds drawn from ``filename``: one figure rule serves them all."""
    return [k for k, v in KINDS.items() if v.drawn_from == filename]

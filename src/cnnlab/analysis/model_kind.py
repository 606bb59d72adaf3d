"""Which kind of network a variant is, for the report's "CNN vs MLP": the rule, stated once
(the report prints ``RULE``), applied to the layer counts each run recorded
(``models.architecture.kind_facts``), unless the config says the variant's ``kind``.

The rule is what the report can defend: one convolution anywhere does not make a CNN (a
vision transformer cuts its image into patches with a ``Conv2d`` whose stride equals its
kernel), and a model with attention is not a fully connected network. It lives here, not
in training, so changing it retrains nothing."""

from __future__ import annotations

KINDS = ("cnn", "mlp", "other")  # the config's ``kind`` values, as the schema lists them
KIND_NAMES = {"cnn": "convolutional", "mlp": "fully connected", "other": "neither"}

RULE = ("A variant counts as a CNN when its model has a convolution whose kernel is larger "
        "than its stride, so that neighbouring windows overlap (more than cutting the image "
        "into patches, as a vision transformer's patch embedding does); as fully connected "
        "(MLP) when it has no convolution and no attention layer; any other model (a vision "
        "transformer, a network of 1x1 or patch convolutions only) is neither and is left "
        "out of CNN vs MLP. A variant's kind in the config (kind: cnn, mlp or other) "
        "replaces the rule, and the comparison says so.")


def kind_by_rule(facts: dict | None) -> str:
    """``RULE`` applied to a run's recorded layer counts. A run that recorded none (trained
    before they were recorded) is ``other``: nothing is claimed of what was not measured."""
    if not facts:
        return "other"
    if facts["sliding_convolutions"] > 0:
        return "cnn"
    if facts["patch_convolutions"] == 0 and facts["attention_layers"] == 0:
        return "mlp"
    return "other"


def run_kind(metrics: dict, given: str | None) -> tuple[str, str]:
    """(kind, where it came from: "config" or "rule") of a run: the config's ``kind``
    when it gives one, else the rule on what the run recorded."""
    if given:
        return given, "config"
    return kind_by_rule(metrics.get("kind_facts")), "rule"

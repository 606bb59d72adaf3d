"""Which configs need the custom autograd layers verified (rule verify_layers, the report's
"Custom autograd layers" section): those with a run whose model is built from them. A
study of one's own with other models gets neither the job nor the section."""

from __future__ import annotations

from cnnlab.models.user_models import ModelSourceError, source_file

# attention_cnn's four switches, each of which puts one custom layer in the model (all on
# by default: registry.attention_cnn); its `reference` implementation is the same math
# in built-in operations, trained beside the custom one to compare them.
_SWITCHES = ("gate", "swish", "squeeze_excite", "gem")
LAYERS_MODULE = "cnnlab.models.layers"


def uses_custom_layers(spec: dict) -> bool:
    """Whether the run's model contains a custom layer: ``attention_cnn`` with any switch
    on, or a model from a user's file that imports ``cnnlab.models.layers``."""
    if spec["model"] == "attention_cnn":
        return any(spec["model_args"].get(switch, True) for switch in _SWITCHES)
    source = spec.get("model_source")
    if source:
        try:
            return LAYERS_MODULE in source_file(source["file"]).read_text()
        except ModelSourceError:  # checked, and named, before this is asked
            return False
    return False


def needs_layer_verification(runs: dict[str, dict]) -> bool:
    return any(uses_custom_layers(spec) for spec in runs.values())

"""Names that would collide in the results, refused before any job starts.

Two variants of one study's dataset with the same label are one variant to every figure
and table keyed by label (their confusion matrices summed, their curves drawn as one); two
figures whose study, dataset and variant names join to the same file stem
(``a_b`` + ``mnist`` and ``a`` + ``b_mnist``) are one file, the later silently replacing
the earlier. Each is a config error naming both keys.
"""

from __future__ import annotations

from cnnlab.plan.config import ConfigError
from cnnlab.plan.figures import figure_entries


def _repeats(items):
    """``(key, first, later)`` for each ``(key, value)`` whose key an earlier item had."""
    first = {}
    for key, value in items:
        if key in first:
            yield key, first[key], value
        else:
            first[key] = value


def label_collisions(study_config: dict) -> list[str]:
    """Variants of one study's dataset that share a label (a variant without one is
    labelled by its name), after sweeps were expanded into variants."""
    problems = []
    for study, sdef in study_config["studies"].items():
        for ds, ddef in sdef["datasets"].items():
            where = f"studies.{study}.datasets.{ds}.variants"
            labelled = ((var.get("label", var["name"]), f"{where}[{i}] ({var['name']})")
                        for i, var in enumerate(ddef["variants"]))
            problems += [f"{first} and {later} are both labelled {label!r}: figures and "
                         f"tables keyed by label would merge them; give each its own label"
                         for label, first, later in _repeats(labelled)]
    return problems


def _source(fig: dict) -> str:
    """The config keys a figure comes from, in words."""
    text = f"studies.{fig['study']}"
    if "dataset" in fig:
        text += f".datasets.{fig['dataset']}"
    if "variant" in fig:
        text += f", variant {fig['variant']!r}"
    return f"{text} ({fig['kind']})"


def figure_collisions(study_config: dict) -> list[str]:
    """Figures of different studies, datasets or variants with the same file stem."""
    return [f"{_source(first)} and {_source(later)} would both be drawn as "
            f"results/figures/{stem}.png, one replacing the other: rename a study, dataset "
            f"or variant so that the names differ"
            for stem, first, later in _repeats(figure_entries(study_config))]


def check_collisions(study_config: dict) -> None:
    """Raise ``ConfigError`` listing every colliding label and figure name of the expanded
    study config (``plan.config.expand_sweeps``'s answer)."""
    problems = label_collisions(study_config) + figure_collisions(study_config)
    if problems:
        raise ConfigError("\n  ".join(["names that collide:", *problems]))

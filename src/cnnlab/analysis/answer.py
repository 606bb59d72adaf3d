"""What every answered question is (``Answer``) and the helpers the question modules share
(``questions`` and ``depth_questions``)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import pandas as pd

from cnnlab.data.catalog import DATASETS


@dataclass(frozen=True)
class Answer:
    """A question a study exists for, the sentences that answer it from the numbers (or
    say why they cannot), and a one-line headline for the report's overall summary."""
    question: str
    sentences: list[str]
    headline: str


def with_settings(table: pd.DataFrame) -> pd.DataFrame:
    """The per-variant table with parsed ``args`` (column ``a``) and ``training`` (``t``)."""
    return table.assign(a=table["args"].map(json.loads),
                        t=table["training"].map(json.loads))


def chance(dataset: str) -> float:
    """Accuracy of guessing: 1 / number of classes."""
    return 1 / len(DATASETS[dataset].classes)


def ratio_text(x) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.1e}"

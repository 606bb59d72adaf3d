"""A run's per-class tables read back with its class names as text.

``per_class.csv`` and ``confusion.csv`` name classes as the dataset does: a folder class
``007`` or ``NA`` is text. Read with pandas' defaults ``007`` becomes the number 7 and
``NA`` a missing value (NaN), so that a class is dropped or renamed; these readers keep
every class name as written and only the measures as numbers.
"""

from __future__ import annotations

import pandas as pd

# Where a measure is missing the writer left the cell empty (a diverged run's accuracy).
_MISSING = ["", "nan", "NaN"]


def read_per_class_csv(path) -> pd.DataFrame:
    """A run's ``per_class.csv``: class (text), support, correct, accuracy (NaN where the
    test subset held none of the class, or the run diverged)."""
    return pd.read_csv(path, dtype={"class": str}, keep_default_na=False,
                       na_values={"accuracy": _MISSING})


def read_confusion_csv(path) -> pd.DataFrame:
    """A run's ``confusion.csv``: counts, true classes (text) as rows, predicted as
    columns."""
    frame = pd.read_csv(path, index_col=0, dtype={"true": str}, keep_default_na=False)
    frame.index = frame.index.astype(str)
    frame.columns = frame.columns.astype(str)
    return frame

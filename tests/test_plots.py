"""Figures whose content is computed, not only drawn: the confusion grid's cell labels."""

import numpy as np
import pandas as pd

from cnnlab.plots import confusion_figure


def counts(rows: list[list[int]]) -> pd.DataFrame:
    classes = ["cat", "dog", "ship"]
    return pd.DataFrame(rows, index=pd.Index(classes, name="true"), columns=classes)


def test_confusion_grid_shows_each_true_class_share_in_percent():
    matrices = {"a": counts([[8, 2, 0], [1, 1, 0], [0, 0, 0]]),
                "b": counts([[0, 0, 5], [0, 4, 0], [3, 0, 1]])}
    fig = confusion_figure(matrices, title="s / d")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["a", "b"]
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t
             for t in panels[0].texts}
    # Rows are shares of the true class: 8 of 10 cats -> 80, 1 of 2 dogs -> 50; the empty
    # row (no ships in the test subset) has no shares to show.
    assert texts[(0, 0)].get_text() == "80" and texts[(0, 1)].get_text() == "20"
    assert texts[(1, 0)].get_text() == "50" and (2, 0) not in texts
    # Readable on its cell: white on the darkest, black on the lightest.
    assert texts[(0, 0)].get_color() == "white" and texts[(0, 2)].get_color() == "black"
    assert [t.get_text() for t in panels[0].get_yticklabels()] == ["cat", "dog", "ship"]
    image = panels[1].images[0].get_array()
    assert np.allclose(image[2], [75, 0, 25]) and image.shape == (3, 3)


def test_every_figure_caption_says_what_to_look_at():
    """A caption describes the figure and then what a reader should look for in it."""
    from cnnlab.figure_kinds import KINDS

    for name, kind in KINDS.items():
        assert ". Look " in kind.caption, name

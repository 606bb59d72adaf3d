"""Labels and figure names that would collide are config errors before any job, each
naming both keys."""

from __future__ import annotations

import copy

import pytest

from cnnlab.plan.config import ConfigError, expand_sweeps


def test_two_variants_of_a_dataset_with_one_label_are_refused(config):
    from cnnlab.plan.collisions import check_collisions

    check_collisions(expand_sweeps(config))  # the shipped config has none
    variants = config["studies"]["task1"]["datasets"]["mnist"]["variants"]
    variants[1]["label"] = variants[0]["label"]
    with pytest.raises(ConfigError) as e:
        check_collisions(expand_sweeps(config))
    assert (f"studies.task1.datasets.mnist.variants[0] ({variants[0]['name']}) and "
            f"studies.task1.datasets.mnist.variants[1] ({variants[1]['name']}) are both "
            f"labelled {variants[0]['label']!r}") in str(e.value)


def test_a_label_equal_to_another_variant_s_name_collides_too(config):
    """A variant without a label is labelled by its name."""
    from cnnlab.plan.collisions import check_collisions

    variants = config["studies"]["task1"]["datasets"]["mnist"]["variants"]
    variants[0].pop("label")
    variants[1]["label"] = variants[0]["name"]
    with pytest.raises(ConfigError, match=rf"are both labelled {variants[0]['name']!r}"):
        check_collisions(expand_sweeps(config))


def test_studies_whose_names_join_to_one_figure_name_are_refused():
    """`a_b` + dataset `mnist` and `a` + dataset `b_mnist` (a folder dataset) are both
    figure a_b_mnist_<kind>: figure_names keeps one of them, silently."""
    from cnnlab.plan.collisions import check_collisions
    from cnnlab.plan.figures import figure_names

    variants = [{"name": "cnn", "model": "simple_cnn"}]
    config = {"studies": {"a_b": {"datasets": {"mnist": {"variants": copy.deepcopy(variants)}}},
                          "a": {"datasets": {"b_mnist": {"variants": copy.deepcopy(variants)}}}}}
    figures = figure_names(config)
    assert figures["a_b_mnist_confusion"]["study"] == "a"  # the other one's is gone
    with pytest.raises(ConfigError) as e:
        check_collisions(config)
    assert ("studies.a_b.datasets.mnist (confusion) and studies.a.datasets.b_mnist "
            "(confusion) would both be drawn as results/figures/a_b_mnist_confusion.png"
            in str(e.value))

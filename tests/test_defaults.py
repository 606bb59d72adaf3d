"""A config names what is its own; cnnlab's defaults (src/cnnlab/defaults.yaml, stated
once) fill the rest, and a user's studies replace cnnlab's own."""

from __future__ import annotations

import yaml
from snakemake.utils import validate

from cnnlab.data.catalog import SYNTHETIC_TEST_IMAGES, SYNTHETIC_TRAIN_IMAGES
from cnnlab.plan.config import (check_config, dataset_sizes, expand_runs, expand_sweeps,
                                job_run_specs, run_dir, trained_spec, variant_spec)
from cnnlab.plan.defaults import DEFAULTS_FILE, config_from_files, defaults, merged, whole_config
from conftest import REPO

SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")
MINE = {"studies": {"mine": {"datasets": {"fashion_mnist": {"variants": [
    {"name": "cnn", "label": "CNN", "model": "simple_cnn"}]}}}}}


def test_a_config_of_studies_only_is_a_whole_config_at_every_scale():
    for scale in ("smoke", "quick", "full"):
        config = whole_config({**MINE, "scale": scale})
        validate(config, SCHEMA)
        check_config(expand_sweeps(config))
        runs = expand_runs(expand_sweeps(config))
        assert {spec["study"] for spec in runs.values()} == {"mine"}  # no Task 1-3 run
        assert len(runs) == len(defaults()["scales"][scale]["seeds"])


def test_the_user_s_studies_replace_cnnlab_s_own_and_without_them_cnnlab_s_run(tmp_path):
    assert set(whole_config(MINE)["studies"]) == {"mine"}
    builtin = yaml.safe_load((REPO / "config.yaml").read_text())["studies"]
    assert set(whole_config({"scale": "smoke"})["studies"]) == set(builtin)
    # Given both files, as `--configfile config.yaml mine.yaml` does, both run.
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(MINE))
    both = config_from_files([REPO / "config.yaml", tmp_path / "mine.yaml"])
    assert set(both["studies"]) == {*builtin, "mine"}


def test_settings_merge_key_by_key_and_lists_replace():
    config = whole_config({**MINE, "training": {"lr": 0.3},
                           "scales": {"smoke": {"seeds": [5]}}})
    assert config["training"]["lr"] == 0.3
    assert config["training"]["batch_size"] == defaults()["training"]["batch_size"]
    assert config["scales"]["smoke"]["seeds"] == [5]  # replaced, not [0, 1, 5]
    assert config["scales"]["smoke"]["synthetic"] is True  # the rest of the scale kept
    assert merged({"a": {"b": 1, "c": [1, 2]}}, {"a": {"c": [3]}}) == {"a": {"b": 1, "c": [3]}}


def test_defaults_are_stated_once():
    """cnnlab's config.yaml holds its studies, not a copy of the defaults."""
    builtin = yaml.safe_load((REPO / "config.yaml").read_text())
    assert set(builtin) == {"studies"}
    example = yaml.safe_load((REPO / "examples/own_study.yaml").read_text())
    assert not {"training", "scales", "scale"} & set(example)
    assert yaml.safe_load(DEFAULTS_FILE.read_text())["training"]["lr"] == 0.05


def test_the_example_config_is_at_most_ten_lines_and_whole():
    lines = [line for line in (REPO / "examples/own_study.yaml").read_text().splitlines()
             if line.split("#", 1)[0].strip()]
    assert len(lines) <= 10
    config = whole_config(yaml.safe_load((REPO / "examples/own_study.yaml").read_text()))
    validate(config, SCHEMA)


def test_a_dataset_the_scale_does_not_list_gets_the_scale_s_other_sizes_capped():
    config = whole_config({**MINE, "scale": "smoke"})
    sizes = dataset_sizes(config, "fashion_mnist")  # synthetic at smoke: 2,000 + 500 images
    other = defaults()["scales"]["smoke"]["other_datasets"]
    assert sizes["epochs"] == other["epochs"]
    assert sizes["train_size"] == min(other["train_size"], SYNTHETIC_TRAIN_IMAGES)
    assert sizes["test_size"] == min(other["test_size"], SYNTHETIC_TEST_IMAGES)
    config["scales"]["smoke"]["other_datasets"]["train_size"] = 10**6  # more than there is
    # What the validation images leave of the split (a fifth at most for a default).
    assert sizes["validation_size"] == min(other["validation_size"], SYNTHETIC_TRAIN_IMAGES // 5)
    assert dataset_sizes(config, "fashion_mnist")["train_size"] == (
        SYNTHETIC_TRAIN_IMAGES - sizes["validation_size"])
    config["scales"]["smoke"]["other_datasets"]["validation_size"] = 10**6
    assert dataset_sizes(config, "fashion_mnist")["validation_size"] == SYNTHETIC_TRAIN_IMAGES // 5
    # A dataset the scale lists keeps its own sizes.
    assert dataset_sizes(config, "mnist") == defaults()["scales"]["smoke"]["datasets"]["mnist"]


def test_what_a_training_job_is_given_has_no_label_and_no_seed():
    config = whole_config({"scale": "smoke"})
    runs = expand_runs(expand_sweeps(config))
    spec = runs[run_dir("task2_depth", "cifar10", "plain-depth8", 1)]
    assert spec["label"] and spec["sweep"]  # the config shows it so
    assert "label" not in trained_spec(spec) and "sweep" not in trained_spec(spec)
    variant = variant_spec(spec)
    assert variant == variant_spec(runs[run_dir("task2_depth", "cifar10", "plain-depth8", 0)])
    # A job's runs and their specs come back from its output files.
    outputs = [f"{run_dir('task2_depth', 'cifar10', 'plain-depth8', s)}/{name}"
               for s in (0, 1) for name in ("metrics.json", "model.pt")]
    back = job_run_specs(variant, outputs)
    assert list(back) == [run_dir("task2_depth", "cifar10", "plain-depth8", s) for s in (0, 1)]
    assert back[run_dir("task2_depth", "cifar10", "plain-depth8", 1)] == trained_spec(spec)

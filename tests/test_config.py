import pytest
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from cnnlab.config import ConfigError, check_config, expand_runs, figure_names, run_dir
from conftest import REPO

SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")


def test_default_config_is_valid(default_config):
    validate(dict(default_config), SCHEMA)
    check_config(default_config)


def test_runs_cover_studies_variants_and_seeds(config):
    runs = expand_runs(config)
    n_variants = sum(len(d["variants"]) for study in config["studies"].values()
                     for d in study["datasets"].values())
    assert len(runs) == n_variants * len(config["scales"]["smoke"]["seeds"])
    assert run_dir("task1", "mnist", "cnn", 1) in runs


def test_spec_layers_defaults_dataset_and_variant_overrides(config):
    ds = config["studies"]["task1"]["datasets"]["cifar10"]
    ds["training"] = {"lr": 0.2}
    ds["variants"][0]["training"] = {"lr": 0.3, "batch_size": 64}
    runs = expand_runs(config)
    first = runs[run_dir("task1", "cifar10", ds["variants"][0]["name"], 0)]
    second = runs[run_dir("task1", "cifar10", ds["variants"][1]["name"], 0)]
    assert (first["training"]["lr"], first["training"]["batch_size"]) == (0.3, 64)
    assert (second["training"]["lr"], second["training"]["batch_size"]) == (0.2, 128)
    assert second["training"]["epochs"] == config["scales"]["smoke"]["datasets"]["cifar10"]["epochs"]


def test_scale_switch_changes_sizes_not_studies(config):
    smoke = expand_runs(config)
    config["scale"] = "quick"
    quick = expand_runs(config)
    key = run_dir("task1", "mnist", "cnn", 0)
    assert smoke[key]["model_args"] == quick[key]["model_args"]
    assert smoke[key]["data"] != quick[key]["data"]
    assert quick[key]["data"]["synthetic"] is False


def test_scale_training_sits_between_defaults_and_studies(config):
    config["scales"]["smoke"]["datasets"]["cifar10"]["training"] = {"batch_size": 512, "lr": 0.2}
    ds = config["studies"]["task1"]["datasets"]["cifar10"]
    ds["training"] = {"lr": 0.3}
    spec = expand_runs(config)[run_dir("task1", "cifar10", ds["variants"][0]["name"], 0)]
    assert (spec["training"]["batch_size"], spec["training"]["lr"]) == (512, 0.3)
    mnist = expand_runs(config)[run_dir("task1", "mnist", "cnn", 0)]
    assert mnist["training"]["batch_size"] == config["training"]["batch_size"]


def test_at_scale_replaces_args_and_training_at_that_scale_only(config):
    variant = config["studies"]["task1"]["datasets"]["cifar10"]["variants"][1]
    variant["args"] = {"widths": [16, 32, 64], "dropout": 0.1}
    variant["at_scale"] = {"full": {"args": {"widths": [64, 128, 256]},
                                    "training": {"lr": 0.1}}}
    key = run_dir("task1", "cifar10", variant["name"], 0)
    smoke = expand_runs(config)[key]
    config["scale"] = "full"
    full = expand_runs(config)[key]
    assert smoke["model_args"] == {"dropout": 0.1, "widths": [16, 32, 64]}
    assert full["model_args"] == {"dropout": 0.1, "widths": [64, 128, 256]}
    assert (smoke["training"]["lr"], full["training"]["lr"]) == (0.05, 0.1)


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c["studies"]["task1"]["datasets"]["mnist"]["variants"][1].update(
        at_scale={"ful": {"args": {}}}),
     r"variants\[1\].at_scale.ful: unknown scale; allowed: \['full', 'quick', 'smoke'\]"),
    (lambda c: c["studies"]["task1"]["datasets"]["mnist"]["variants"][1].update(
        at_scale={"full": {"args": {"width": 8}}}),
     r"variants\[1\] \(cnn\): model 'simple_cnn' has no argument 'width'"),
    (lambda c: c.update(scale="huge"), r"scale: 'huge' is not defined; allowed: \['full', 'quick', 'smoke'\]"),
    (lambda c: c["studies"]["task1"]["datasets"]["mnist"]["variants"][0].update(model="vgg"),
     r"studies.task1.datasets.mnist.variants\[0\] \(mlp\): unknown model 'vgg'"),
    (lambda c: c["studies"]["task1"]["datasets"]["mnist"]["variants"][1].update(args={"chanels": [8]}),
     r"variants\[1\] \(cnn\): model 'simple_cnn' has no argument 'chanels'"),
    (lambda c: c["studies"]["task1"]["datasets"]["mnist"]["variants"][1].update(name="mlp"),
     r"variants\[1\].name: duplicate variant 'mlp'"),
    (lambda c: c["studies"]["task1"]["datasets"].update(svhn={"variants": [{"name": "a", "model": "mlp"}]}),
     r"studies.task1.datasets.svhn: unknown dataset"),
    (lambda c: c["studies"]["task1"]["datasets"]["mnist"]["variants"][0].update(name="a/b"),
     r"variants\[0\].name: 'a/b' must match"),
])
def test_semantic_errors_name_the_key(config, mutate, message):
    mutate(config)
    with pytest.raises(ConfigError, match=message):
        check_config(config)


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c["training"].update(lr=0), r"instance\['training'\]\['lr'\]"),
    (lambda c: c["training"].update(batch_size=-1), r"instance\['training'\]\['batch_size'\]"),
    (lambda c: c["scales"]["smoke"]["datasets"]["mnist"].update(epochs=0),
     r"instance\['scales'\]\['smoke'\]\['datasets'\]\['mnist'\]\['epochs'\]"),
    (lambda c: c["scales"]["smoke"].update(seeds=[]), r"instance\['scales'\]\['smoke'\]\['seeds'\]"),
    (lambda c: c["training"].update(optimiser="adam"), r"'optimiser' was unexpected"),
    (lambda c: c["training"].update(schedule="linear"), r"instance\['training'\]\['schedule'\]"),
    (lambda c: c["training"].update(precision="fp16"), r"instance\['training'\]\['precision'\]"),
])
def test_schema_errors_name_the_key(config, mutate, message):
    mutate(config)
    with pytest.raises(WorkflowError, match=message):
        validate(config, SCHEMA)


def test_figure_names_are_stable_and_complete(config):
    names = figure_names(config)
    assert {"task1_learning_curves", "task1_comparison", "task1_mnist_cnn_confusion",
            "task1_cifar10_resnet_reg_confusion"} <= set(names)
    assert names["task1_mnist_cnn_confusion"] == {
        "kind": "confusion", "study": "task1", "dataset": "mnist", "variant": "cnn"}


def test_spec_does_not_depend_on_key_order(config):
    """Snakemake reruns a job whose parameters' text changed; key order must not count."""
    before = expand_runs(config)
    variant = config["studies"]["task1"]["datasets"]["cifar10"]["variants"][2]
    variant["args"] = dict(reversed(list(variant["args"].items())))
    config["training"] = dict(reversed(list(config["training"].items())))
    after = expand_runs(config)
    assert [repr(s) for s in before.values()] == [repr(s) for s in after.values()]

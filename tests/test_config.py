import pytest
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from cnnlab.plan.config import ConfigError, check_config, expand_runs, expand_sweeps, run_dir
from cnnlab.plan.figures import figure_names
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


def test_study_at_scale_replaces_the_scale_s_sizes_for_that_study_only(config):
    """A study's ``at_scale`` sizes and settings apply to that study at that scale only:
    the other studies keep the scale's; other scales are untouched."""
    config["studies"]["task2_depth"]["datasets"]["cifar10"]["at_scale"]["quick"] = {
        "train_size": 2000, "epochs": 3, "training": {"batch_size": 32}}
    config = expand_sweeps(config)  # the depth variants are sweep points
    config["scale"] = "quick"
    runs = expand_runs(config)
    depth = runs[run_dir("task2_depth", "cifar10", "plain-depth8", 0)]
    kernel = runs[run_dir("task2_kernel", "cifar10", "k3", 0)]
    quick = config["scales"]["quick"]["datasets"]["cifar10"]
    assert (depth["data"]["train_size"], depth["training"]["epochs"],
            depth["training"]["batch_size"]) == (2000, 3, 32)
    assert (depth["data"]["test_size"]) == quick["test_size"]  # not replaced: the scale's
    assert (kernel["data"]["train_size"], kernel["training"]["epochs"],
            kernel["training"]["batch_size"]) == (quick["train_size"], quick["epochs"],
                                                  quick["training"]["batch_size"])
    # A variant's own training settings still win over its study's at this scale.
    assert runs[run_dir("task2_depth", "cifar10", "explode_clip", 0)]["training"][
        "grad_clip"] == 1.0
    config["scale"] = "smoke"
    smoke = expand_runs(config)[run_dir("task2_depth", "cifar10", "plain-depth8", 0)]
    assert smoke["data"]["train_size"] == config["scales"]["smoke"]["datasets"]["cifar10"][
        "train_size"] and smoke["training"]["batch_size"] == 128


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c["studies"]["task2_depth"]["datasets"]["cifar10"].update(
        at_scale={"quik": {"epochs": 1}}),
     r"studies.task2_depth.datasets.cifar10.at_scale.quik: unknown scale"),
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
    (lambda c: c["studies"]["task1"]["datasets"].update(imagenet={"variants": [{"name": "a", "model": "mlp"}]}),
     r"studies.task1.datasets.imagenet: unknown dataset"),
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
    assert {"task1_learning_curves", "task1_comparison", "task1_mnist_confusion",
            "task1_cifar10_confusion", "task2_depth_cifar10_sweep"} <= set(names)
    # One confusion figure per study and dataset, holding every variant's matrix.
    # Titled in the study's and dataset's words, not by the file's name.
    assert names["task1_mnist_confusion"] == {
        "kind": "confusion", "study": "task1", "dataset": "mnist",
        "title": "Task 1: fully connected vs CNN vs residual networks: mnist"}
    assert names["task2_depth_cifar10_sweep"]["title"] == \
        "Task 2b: depth, plain and residual: cifar10"
    assert not any(n.endswith("_cnn_confusion") for n in names)


def test_each_figure_is_drawn_from_its_own_runs(config):
    """A study figure reads every run of its study; a dataset figure the runs of its
    dataset, every seed; a probe only the probe seed's runs; a sweep only the sweep points."""
    from cnnlab.plan.config import expand_sweeps
    from cnnlab.plan.figures import figure_run_dirs

    expanded = expand_sweeps(config)
    runs = expand_runs(expanded)
    names = figure_names(expanded)
    seeds = config["scales"]["smoke"]["seeds"]

    def variants(figure):
        return {(runs[r]["dataset"], runs[r]["variant"], runs[r]["seed"])
                for r in figure_run_dirs(names[figure], runs, seeds[0])}

    task1 = {(s["dataset"], s["variant"], s["seed"]) for s in runs.values()
             if s["study"] == "task1"}
    assert variants("task1_learning_curves") == task1
    assert variants("task1_mnist_confusion") == {v for v in task1 if v[0] == "mnist"}
    assert figure_run_dirs(names["task1_learning_curves"], runs, seeds[0]) == [
        r for r, s in runs.items() if s["study"] == "task1"]  # config order
    probe = variants("task2_kernel_cifar10_receptive_field")
    assert probe and {seed for _, _, seed in probe} == {seeds[0]}
    assert len(probe) == len(config["studies"]["task2_kernel"]["datasets"]["cifar10"]["variants"])
    points = figure_run_dirs(names["task2_depth_cifar10_sweep"], runs, seeds[0])
    depth_study = {r for r, s in runs.items() if s["study"] == "task2_depth"}
    assert points and set(points) < depth_study  # not the study's other variants
    assert all("sweep" in runs[r] for r in points)


def test_spec_does_not_depend_on_key_order(config):
    """Snakemake reruns a job whose parameters' text changed; key order must not count."""
    before = expand_runs(config)
    variant = config["studies"]["task1"]["datasets"]["cifar10"]["variants"][2]
    variant["args"] = dict(reversed(list(variant["args"].items())))
    config["training"] = dict(reversed(list(config["training"].items())))
    after = expand_runs(config)
    assert [repr(s) for s in before.values()] == [repr(s) for s in after.values()]


def test_sweep_expands_into_named_points_with_their_values(config):
    from cnnlab.plan.config import expand_sweeps

    mnist = config["studies"]["task1"]["datasets"]["mnist"]
    mnist["variants"].append({"name": "mlp", "label": "MLP", "model": "mlp",
                              "args": {"hidden": [64]},
                              "sweep": {"lr": [0.01, 0.2], "hidden": [[32], [64, 32]]}})
    mnist["variants"][0]["name"] = "mlp_base"  # the sweep's base name stays free
    expanded = expand_sweeps(config)
    check_config(expanded)
    names = [v["name"] for v in expanded["studies"]["task1"]["datasets"]["mnist"]["variants"]]
    assert names[-4:] == ["mlp-hidden32-lr0.01", "mlp-hidden32-lr0.2",
                          "mlp-hidden64x32-lr0.01", "mlp-hidden64x32-lr0.2"]
    runs = expand_runs(expanded)
    spec = runs[run_dir("task1", "mnist", "mlp-hidden64x32-lr0.2", 0)]
    assert spec["training"]["lr"] == 0.2 and spec["model_args"]["hidden"] == [64, 32]
    assert spec["sweep"]["values"] == {"hidden": [64, 32], "lr": 0.2}
    assert spec["label"] == "MLP, hidden=[64, 32], lr=0.2"
    # Variants without a sweep keep exactly the spec they had: nothing of theirs retrains.
    plain = run_dir("task1", "mnist", "cnn", 0)
    assert runs[plain] == expand_runs(config)[plain]
    assert "task1_mnist_sweep" in figure_names(expanded)


def test_sweep_of_an_unknown_key_names_it(config):
    from cnnlab.plan.config import expand_sweeps

    var = config["studies"]["task1"]["datasets"]["mnist"]["variants"][0]
    var["sweep"] = {"learning_rate": [0.1]}
    with pytest.raises(ConfigError, match=r"variants\[0\] \(mlp\)\.sweep\.learning_rate: "
                                          r"neither a training setting nor a model argument"):
        expand_sweeps(config)


def test_a_swept_key_that_at_scale_also_sets_is_a_clash_named_with_both(config):
    """At that scale the at_scale value would replace every swept value: every grid point
    the same run."""
    from cnnlab.plan.config import expand_sweeps

    var = config["studies"]["task2_depth"]["datasets"]["cifar10"]["variants"][0]
    var["at_scale"] = {"full": {"args": {"depth": 20}}}
    with pytest.raises(ConfigError, match=r"variants\[0\] \(plain\)\.sweep\.depth and "
                                          r"at_scale\.full\.args\.depth clash"):
        expand_sweeps(config)
    var["at_scale"] = {"full": {"training": {"lr": 0.2}}}  # another key: fine
    expand_sweeps(config)
    var["sweep"] = {"depth": [2, 4], "lr": [0.1]}
    with pytest.raises(ConfigError, match=r"sweep\.lr and at_scale\.full\.training\.lr clash"):
        expand_sweeps(config)


def test_model_check_names_variant_argument_and_value(config):
    from cnnlab.models.build_check import check_models

    variants = config["studies"]["task1"]["datasets"]["mnist"]["variants"]
    variants[0]["args"] = {"hidden": "abc"}
    variants[2]["args"] = {"widths": [16, 32, 64], "blocks_per_stage": "two"}
    facts, problems = check_models(expand_runs(config))
    assert len(problems) == 2
    assert problems[0].startswith("studies.task1.datasets.mnist, variant 'mlp' (model mlp) "
                                  "cannot be built for mnist's 1x28x28 images: "
                                  "argument hidden='abc'")
    assert "variant 'resnet' (model resnet)" in problems[1]
    assert "argument blocks_per_stage='two'" in problems[1]
    assert "widths" not in problems[1].split("cannot be built")[1]  # the good one is not blamed
    assert all(v["flops"] > 0 for v in facts.values())


def test_model_check_is_cached_and_costs_rank_the_runs(config, tmp_path, monkeypatch):
    import json

    from cnnlab.models import build_check as model_check

    runs = expand_runs(config)
    facts = model_check.checked_models(runs, tmp_path)
    cached, = tmp_path.glob("models-*.json")
    assert json.loads(cached.read_text()) == facts
    # The second call reads the cache: it builds nothing (check_models would fail), and
    # returns what the file says.
    monkeypatch.setattr(model_check, "check_models", lambda runs: pytest.fail("rebuilt"))
    more = {k: {**v, "flops": v["flops"] + 1} for k, v in facts.items()}
    cached.write_text(json.dumps(more))
    assert model_check.checked_models(runs, tmp_path) == more
    monkeypatch.undo()
    costs = model_check.run_costs(runs, facts)
    ranks = model_check.priorities(costs)
    wide = run_dir("task3", "cifar10", "wide", 0)
    mlp = run_dir("task1", "mnist", "mlp", 0)
    assert costs[wide] > costs[mlp] and ranks[wide] > ranks[mlp]
    # The widest ResNet is the costliest: its two seeds start first.
    assert costs[wide] == max(costs.values()) and ranks[wide] >= len(ranks) - 2


def test_schema_probe_list_is_the_registry_s():
    """The schema cannot import Python; it must list exactly the probe kinds there are."""
    import yaml

    from cnnlab.report.figure_kinds import PROBES

    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    probes = schema["properties"]["studies"]["additionalProperties"]["properties"]["probes"]
    assert probes["items"]["enum"] == PROBES


def test_runs_whose_epochs_take_no_step_or_whose_settings_are_not_finite_are_named(config):
    from cnnlab.plan.config import check_runs

    check_runs(expand_runs(expand_sweeps(config)), "smoke")  # the shipped config passes
    config["training"]["lr"] = float("inf")
    config["studies"]["task1"]["datasets"]["mnist"]["variants"][1]["training"] = {
        "batch_size": 1001, "momentum": float("nan")}
    with pytest.raises(ConfigError) as e:
        check_runs(expand_runs(config), "smoke")
    lines = str(e.value).splitlines()
    where = "studies.task1.datasets.mnist, variant 'cnn'"
    assert f"{where}: training.batch_size is 1001, more than the run's 1000 training images " \
           "at scale 'smoke'" in str(e.value)
    assert f"{where}: training.momentum is nan; it must be finite" in lines
    assert f"studies.task3.datasets.cifar10, variant 'wide': training.lr is inf; it must be " \
           "finite" in lines
    # One line per variant and setting, not per seed.
    assert len(lines) == len(set(lines))
    config["training"]["lr"] = 0.05
    config["studies"]["task1"]["datasets"]["mnist"]["variants"][1]["training"] = {
        "batch_size": 1000}  # exactly one step per epoch
    check_runs(expand_runs(config), "smoke")


def test_whole_split_runs_are_checked_against_the_dataset_size(config):
    from cnnlab.plan.config import check_runs

    config["scale"] = "full"  # train_size null: what 5,000 validation images leave of 60,000
    config["scales"]["full"]["datasets"]["mnist"]["training"] = {"batch_size": 55001}
    with pytest.raises(ConfigError, match="more than the run's 55000 training images"):
        check_runs(expand_runs(expand_sweeps(config)), "full")


def test_identical_specs_in_two_studies_are_trained_once(config):
    """Task 1's CIFAR-10 residual CNN is Task 3's basic-block ResNet: same model, arguments,
    recipe and data; only where it is shown differs."""
    from cnnlab.plan.shared_runs import shared_runs

    runs = expand_runs(expand_sweeps(config))
    shared = shared_runs(runs)
    seeds = config["scales"]["smoke"]["seeds"]
    assert shared == {run_dir("task3", "cifar10", "basic", s): run_dir("task1", "cifar10",
                                                                       "resnet", s)
                      for s in seeds}
    # A change to one of them (here its learning rate) makes it a run of its own.
    config["studies"]["task3"]["datasets"]["cifar10"]["variants"][7]["training"] = {"lr": 0.2}
    assert shared_runs(expand_runs(expand_sweeps(config))) == {}
    config["scale"] = "full"  # Task 1's is 4x wider there: nothing shared
    assert shared_runs(expand_runs(expand_sweeps(config))) == {}


def test_a_size_larger_than_the_dataset_is_named_not_clamped(config):
    """train_size 100000 for MNIST once trained on 60,000 while the report said nothing."""
    from cnnlab.plan.config import check_runs

    config["scale"] = "quick"
    config["scales"]["quick"]["datasets"]["mnist"]["train_size"] = 100_000
    config["scales"]["quick"]["datasets"]["cifar10"]["test_size"] = 10_001
    with pytest.raises(ConfigError) as e:
        check_runs(expand_runs(expand_sweeps(config)), "quick")
    assert ("studies.task1.datasets.mnist, variant 'mlp': train_size 100000 at scale 'quick' "
            "is more than the 55000 images of mnist's train split beside its 5000 "
            "validation images") in str(e.value)
    assert "test_size 10001 at scale 'quick' is more than the 10000 images of cifar10's " \
           "test split" in str(e.value)
    # The validation images are never trained on: the whole split is too many.
    config["scales"]["quick"]["datasets"]["cifar10"]["test_size"] = 10_000
    config["scales"]["quick"]["datasets"]["mnist"]["train_size"] = 60_000
    with pytest.raises(ConfigError, match="train_size 60000 at scale 'quick' is more than"):
        check_runs(expand_runs(expand_sweeps(config)), "quick")
    config["scales"]["quick"]["datasets"]["mnist"]["train_size"] = 55_000  # all the rest: fine
    config["scales"]["quick"]["datasets"]["cifar10"]["test_size"] = 10_000
    check_runs(expand_runs(expand_sweeps(config)), "quick")
    # Synthetic data has its own sizes.
    config["scales"]["smoke"]["datasets"]["mnist"]["test_size"] = 501
    with pytest.raises(ConfigError, match="the 500 images of mnist's synthetic test split"):
        check_runs(expand_runs(expand_sweeps({**config, "scale": "smoke"})), "smoke")


def test_momentum_cycling_outside_zero_to_one_is_named(config):
    from cnnlab.plan.config import check_runs

    config["training"].update(momentum=0.98, momentum_cycle=0.05)
    with pytest.raises(ConfigError, match=r"training.momentum 0.98 with "
                                          r"training.momentum_cycle 0.05 cycles outside"):
        check_runs(expand_runs(expand_sweeps(config)), "smoke")
    config["training"]["momentum"] = 0.0  # no momentum: nothing cycles
    check_runs(expand_runs(expand_sweeps(config)), "smoke")


def test_probes_on_a_model_they_cannot_look_inside_are_named_before_any_job(config, tmp_path):
    """Probes follow an nn.Sequential conv net; on Task 1's MLP or residual CNN the figure
    job once failed after all training."""
    from cnnlab.models.build_check import check_models, checked_models

    runs = expand_runs(expand_sweeps(config))
    _, problems = check_models(runs, {"task1": ["feature_maps"]})
    named = {p.split(" (model")[0] for p in problems}
    assert named == {f"studies.task1.datasets.{ds}, variant {v!r}"
                     for ds, v in [("mnist", "mlp"), ("mnist", "resnet"), ("cifar10", "mlp"),
                                   ("cifar10", "resnet"), ("cifar10", "resnet_reg")]}
    assert all("asks for probes feature_maps" in p for p in problems)
    assert any("probes need a convolutional model: it has no nn.Conv2d" in p for p in problems)
    assert any("probes need an nn.Sequential model, not ResNet" in p for p in problems)
    # The shipped config's probes (kernel and depth studies) look inside what they can.
    shipped = {s: d["probes"] for s, d in config["studies"].items() if d.get("probes")}
    assert check_models(runs, shipped)[1] == []
    with pytest.raises(ValueError, match="variant 'mlp'"):
        checked_models(runs, tmp_path, {"task1": ["first_layer"]})


def test_a_validation_split_that_leaves_nothing_to_train_on_is_named(config):
    from cnnlab.plan.config import check_runs

    config["scales"]["smoke"]["datasets"]["mnist"]["validation_size"] = 2000  # all of it
    with pytest.raises(ConfigError, match=r"validation_size 2000 at scale 'smoke' leaves no "
                       r"training images of the 2000 in mnist's synthetic train split"):
        check_runs(expand_runs(expand_sweeps(config)), "smoke")


def test_a_study_cannot_replace_the_validation_split(config):
    """One validation split per dataset and scale: every study's curves read the same images."""
    config["studies"]["task1"]["datasets"]["mnist"]["at_scale"] = {
        "smoke": {"validation_size": 100}}
    with pytest.raises(WorkflowError, match="validation_size"):
        validate(config, SCHEMA)


def test_every_run_of_a_dataset_gets_the_scale_validation_size(config):
    for scale in ("smoke", "quick", "full"):
        config["scale"] = scale
        runs = expand_runs(expand_sweeps(config))
        sizes = {(s["dataset"], s["data"]["validation_size"]) for s in runs.values()}
        assert sizes == {(ds, config["scales"][scale]["datasets"][ds]["validation_size"])
                         for ds, _ in sizes}


def test_a_scale_of_one_s_own_without_a_validation_size_is_named(config):
    config["scales"]["mine"] = {"synthetic": True, "seeds": [0],
                                "datasets": {"mnist": {"train_size": 500, "epochs": 1}},
                                "other_datasets": {"epochs": 1}}
    config["scale"] = "mine"
    with pytest.raises(ConfigError, match="scales.mine.other_datasets.validation_size"):
        expand_runs(expand_sweeps(config))
    config["scales"]["mine"]["other_datasets"]["validation_size"] = 300
    runs = expand_runs(expand_sweeps(config))
    assert {s["data"]["validation_size"] for s in runs.values() if s["dataset"] == "mnist"} == {300}

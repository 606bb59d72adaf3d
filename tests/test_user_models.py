"""A user's own models (config `models_from`) and torchvision's classifiers by name: checked
before any job, tracked by the meaning of the user's file, trained and reloaded like the
built-in models."""

from __future__ import annotations

import copy
import io
import shutil

import pytest

from cnnlab.models.build_check import check_models
from cnnlab.plan.config import ConfigError, check_config, expand_runs, expand_sweeps, run_dir
from conftest import REPO

EXAMPLE = REPO / "examples" / "my_models.py"


def with_user_model(config, model_file, model="tiny_vgg", args=None, dataset="cifar10"):
    config = copy.deepcopy(config)
    config["models_from"] = [str(model_file)]
    config["studies"]["task1"]["datasets"][dataset]["variants"].append(
        {"name": "mine", "model": model, "args": args or {}})
    expanded = expand_sweeps(config)
    check_config(expanded)
    return expand_runs(expanded)


def test_a_user_model_gets_its_file_s_code_in_its_runs_specs_and_nothing_else_does(
        config, tmp_path):
    model_file = tmp_path / "models.py"
    shutil.copy(EXAMPLE, model_file)
    runs = with_user_model(config, model_file, args={"width": 8})
    mine = runs[run_dir("task1", "cifar10", "mine", 0)]
    assert mine["model_source"]["file"] == str(model_file)
    others = {k: v for k, v in runs.items() if "/mine/" not in k}
    assert not any("model_source" in spec for spec in others.values())

    # A comment and a docstring change nothing; a changed statement changes exactly the
    # specs of the runs of that file's models (what Snakemake retrains).
    source = model_file.read_text()
    model_file.write_text(source.replace('"""An example', '"""(edited) An example')
                          + "\n# a comment\n")
    assert with_user_model(config, model_file, args={"width": 8}) == runs
    model_file.write_text(source.replace("nn.MaxPool2d(2)", "nn.AvgPool2d(2)"))
    changed = with_user_model(config, model_file, args={"width": 8})
    assert [k for k in runs if runs[k] != changed[k]] == [
        run_dir("task1", "cifar10", "mine", s) for s in config["scales"]["smoke"]["seeds"]]


@pytest.mark.parametrize("edit, message", [
    (lambda s: s + "\n\n@cnnlab.register_model\ndef resnet(in_shape, num_classes):\n    pass\n",
     r"models\.py line 29: model 'resnet' is a built-in model of cnnlab"),
    (lambda s: s.replace("def tiny_vgg(in_shape, num_classes, width=16, blocks=2):",
                         "def tiny_vgg(in_shape, num_classes, width=16, blocks=2)"),
     r"models\.py line 14: expected ':'"),
])
def test_a_clash_or_a_syntax_error_names_the_file_and_line(config, tmp_path, edit, message):
    model_file = tmp_path / "models.py"
    model_file.write_text(edit(EXAMPLE.read_text()))
    with pytest.raises(ConfigError, match=message):
        with_user_model(config, model_file)


def test_a_missing_file_an_unknown_argument_and_an_import_error_are_named(config, tmp_path):
    with pytest.raises(ConfigError, match=r"models_from: nowhere/models\.py does not exist"):
        with_user_model(config, "nowhere/models.py")
    with pytest.raises(ConfigError, match=r"variants\[3\] \(mine\): model 'tiny_vgg' has no "
                                          r"argument 'depth'; allowed: \['blocks', 'width'\]"):
        with_user_model(config, EXAMPLE, args={"depth": 3})
    broken = tmp_path / "broken.py"
    broken.write_text(EXAMPLE.read_text().replace("from torch import nn\n",
                                                  "from torch import nn\n\nnn.Conv3x3\n"))
    runs = with_user_model(config, broken)
    _, problems = check_models(runs)
    assert problems == [
        f"studies.task1.datasets.cifar10, variant 'mine' (model tiny_vgg): models_from: "
        f"{broken} line {broken.read_text().splitlines().index('nn.Conv3x3') + 1}: importing it raised AttributeError: module 'torch.nn' has no "
        f"attribute 'Conv3x3'"]


def test_a_user_model_trains_and_reloads_from_its_checkpoint(config, tmp_path):
    import torch

    from cnnlab.data.prepared import load_prepared, save_prepared
    from cnnlab.data.sources import make_synthetic
    from cnnlab.models.checkpoint import load_checkpoint
    from cnnlab.training.loop import run_training

    runs = with_user_model(config, EXAMPLE, args={"width": 4, "blocks": 1})
    spec = runs[run_dir("task1", "cifar10", "mine", 0)]
    spec["training"].update(epochs=1)
    # The smoke scale's 1,000 training images beside its 200 validation ones.
    save_prepared(make_synthetic("cifar10", 1200, 50), "cifar10", tmp_path / "c.npz")
    metrics = run_training(spec, load_prepared(tmp_path / "c.npz"), tmp_path / "run",
                           progress=io.StringIO())
    assert metrics["parameters"] == 4 * 3 * 9 + 4 + 4 * 4 * 9 + 4 + 4 * 10 + 10
    model, ckpt = load_checkpoint(tmp_path / "run" / "model.pt")
    assert ckpt["spec"]["model_source"] == spec["model_source"]
    assert isinstance(model[0], torch.nn.Conv2d) and model[0].out_channels == 4


def test_torchvision_models_by_name_and_a_shape_they_cannot_take(config):
    """Any torchvision.models classifier, untrained, num_classes from the dataset; on
    MNIST's one channel a ResNet-18 cannot be built: named before any job."""
    config["studies"]["task1"]["datasets"]["cifar10"]["variants"].append(
        {"name": "r18", "model": "torchvision.resnet18"})
    config["studies"]["task1"]["datasets"]["mnist"]["variants"].append(
        {"name": "r18", "model": "torchvision.resnet18"})
    expanded = expand_sweeps(config)
    check_config(expanded)
    runs = expand_runs(expanded)
    flops, problems = check_models(runs)
    assert problems == [
        "studies.task1.datasets.mnist, variant 'r18' (model torchvision.resnet18) cannot be "
        "built for mnist's 1x28x28 images: args {}: RuntimeError: Invalid channel dimensions"]
    from cnnlab.models.registry import build_model

    net = build_model("torchvision.resnet18", (3, 32, 32), 10)
    assert net.fc.out_features == 10
    assert sum(p.numel() for p in net.parameters()) == 11_181_642  # ResNet-18, 10 classes


def test_models_from_an_importable_module_name(config, tmp_path, monkeypatch):
    """`models_from: [lab_models]`: a module on the Python path, found without running it."""
    package = tmp_path / "site"
    package.mkdir()
    shutil.copy(EXAMPLE, package / "lab_models.py")
    monkeypatch.syspath_prepend(str(package))
    runs = with_user_model(config, "lab_models")
    assert runs[run_dir("task1", "cifar10", "mine", 0)]["model_source"]["file"] == \
        str(package / "lab_models.py")
    with pytest.raises(ConfigError, match="models_from: no_such_module is neither a .py file "
                                          "nor an importable module"):
        with_user_model(config, "no_such_module")


HELPER = '''"""Blocks the model file imports."""
from torch import nn


def block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU())
'''

USES_HELPER = '''from torch import nn

import cnnlab
from {helper} import block


@cnnlab.register_model
def {model}(in_shape, num_classes, width=4):
    return nn.Sequential(block(in_shape[0], width), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(width, num_classes))
'''


def test_a_model_file_imports_its_neighbours_and_follows_them_into_its_code(config, tmp_path):
    """`from my_blocks import block` beside the file imports (its folder is on the path, as
    when Python runs it), and the helper's code is the model's: a changed statement there
    retrains its runs, a comment does not."""
    (tmp_path / "nb_blocks.py").write_text(HELPER)
    model_file = tmp_path / "nb_models.py"
    model_file.write_text(USES_HELPER.format(helper="nb_blocks", model="nb_net"))
    runs = with_user_model(config, model_file, model="nb_net", args={"width": 8})
    flops, problems = check_models(runs)
    assert problems == [] and len(flops) > 0
    (tmp_path / "nb_blocks.py").write_text(HELPER + "# a comment\n")
    assert with_user_model(config, model_file, model="nb_net", args={"width": 8}) == runs
    (tmp_path / "nb_blocks.py").write_text(HELPER.replace("nn.ReLU()", "nn.Tanh()"))
    changed = with_user_model(config, model_file, model="nb_net", args={"width": 8})
    assert [k for k in runs if runs[k] != changed[k]] == [
        run_dir("task1", "cifar10", "mine", s) for s in config["scales"]["smoke"]["seeds"]]


def test_a_builder_that_raises_is_named_not_its_arguments(config, tmp_path):
    model_file = tmp_path / "crashing.py"
    model_file.write_text("import cnnlab\n\n\n@cnnlab.register_model\n"
                          "def crashy(in_shape, num_classes, width=4):\n"
                          "    raise RuntimeError('not written yet')\n")
    runs = with_user_model(config, model_file, model="crashy", args={"width": 8})
    _, problems = check_models(runs)
    assert len(problems) == 1
    assert (f"its builder 'crashy' ({model_file}) raises RuntimeError: not written yet at "
            f"{model_file} line 6") in problems[0]
    assert "argument width=8" not in problems[0]


def test_a_checkpoint_of_an_edited_user_model_is_refused(config, tmp_path):
    """A model.pt rebuilt from a file that changed since would compute something else."""
    import torch

    from cnnlab.models.checkpoint import checkpoint, load_checkpoint
    from cnnlab.models.registry import build_for_spec
    from cnnlab.models.user_models import ModelSourceError

    model_file = tmp_path / "ck_models.py"
    model_file.write_text(EXAMPLE.read_text().replace("def tiny_vgg", "def ck_vgg"))
    spec = with_user_model(config, model_file, model="ck_vgg", args={"width": 4, "blocks": 1}
                           )[run_dir("task1", "cifar10", "mine", 0)]
    model = build_for_spec(spec, (3, 32, 32), 10)
    saved = tmp_path / "model.pt"
    torch.save(checkpoint(model, spec, (3, 32, 32), [str(i) for i in range(10)],
                          torch.zeros(3), torch.ones(3)), saved)
    model_file.write_text(model_file.read_text() + "\n# a comment changes nothing\n")
    load_checkpoint(saved)
    # The same layers, the same weights' shapes: only the code shows the change.
    model_file.write_text(model_file.read_text().replace("nn.ReLU(inplace=True)", "nn.Tanh()"))
    with pytest.raises(ModelSourceError, match=rf"{saved}: cannot rebuild its model: "
                                               rf"models_from: {model_file} \(or a module "
                                               rf"beside it that it imports\) has changed "
                                               rf"since this model was trained"):
        load_checkpoint(saved)


def test_the_code_digest_follows_local_imports_through_each_other(tmp_path):
    """Read without importing: the file's neighbours, and theirs (a package beside it too),
    are in its code; a comment in any of them is not."""
    from cnnlab.models.user_models import declared_models

    (tmp_path / "dg_pkg").mkdir()
    (tmp_path / "dg_pkg" / "__init__.py").write_text("")
    (tmp_path / "dg_pkg" / "deep.py").write_text("SCALE = 2\n")
    (tmp_path / "dg_blocks.py").write_text(HELPER + "from dg_pkg.deep import SCALE\n")
    model_file = tmp_path / "dg_models.py"
    model_file.write_text(USES_HELPER.format(helper="dg_blocks", model="dg_net"))

    def code():
        return declared_models(str(model_file))["dg_net"].code

    first = code()
    (tmp_path / "dg_pkg" / "deep.py").write_text("SCALE = 2  # a comment\n")
    assert code() == first
    (tmp_path / "dg_pkg" / "deep.py").write_text("SCALE = 3\n")
    assert code() != first


def test_a_required_argument_s_bad_value_is_still_blamed_on_it(config, tmp_path):
    """The builder is called raising only where it raises with what it requires alone."""
    model_file = tmp_path / "needs.py"
    model_file.write_text("from torch import nn\n\nimport cnnlab\n\n\n@cnnlab.register_model\n"
                          "def needy(in_shape, num_classes, width, depth=1):\n"
                          "    return nn.Sequential(nn.Flatten(), nn.LazyLinear(width),\n"
                          "                         nn.Linear(width, num_classes))\n")
    runs = with_user_model(config, model_file, model="needy", args={"width": 4, "depth": 2})
    assert check_models(runs)[1] == []
    runs = with_user_model(config, model_file, model="needy", args={"width": "x", "depth": 2})
    [problem] = check_models(runs)[1]
    assert "argument(s) width='x' (required): TypeError" in problem
    assert "its builder" not in problem and "depth" not in problem.split("images:")[1]


def test_two_model_files_of_one_folder_may_import_each_other(config, tmp_path):
    """As Python runs them: `from tw_first import helper` in the second file is the first
    file's module itself, so its builders are not registered twice."""
    first = tmp_path / "tw_first.py"
    first.write_text(USES_HELPER.format(helper="tw_blocks", model="tw_one")
                     + "\n\nWIDTH = 4\n")
    (tmp_path / "tw_blocks.py").write_text(HELPER)
    second = tmp_path / "tw_second.py"
    second.write_text(USES_HELPER.format(helper="tw_blocks", model="tw_two")
                      .replace("import cnnlab\n", "import cnnlab\nfrom tw_first import WIDTH\n"))
    config = copy.deepcopy(config)
    config["models_from"] = [str(second), str(first)]
    variants = config["studies"]["task1"]["datasets"]["cifar10"]["variants"]
    variants += [{"name": "one", "model": "tw_one"}, {"name": "two", "model": "tw_two"}]
    expanded = expand_sweeps(config)
    check_config(expanded)
    flops, problems = check_models(expand_runs(expanded))
    assert problems == []

"""The `cnnlab` command: a new project that builds as its README says, and what a config can
name (models, datasets), listed without importing PyTorch."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from conftest import REPO

BIN = Path(sys.executable).parent
NO_TORCH = ("import sys; from cnnlab.cli import main; code = main(sys.argv[1:]); "
            "assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(code)")


def cnnlab(*args, cwd=None) -> subprocess.CompletedProcess:
    """``cnnlab ARGS`` in a fresh process that fails if it imports PyTorch."""
    return subprocess.run([sys.executable, "-c", NO_TORCH, *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_models_lists_built_in_and_the_config_s_own_with_their_defaults(tmp_path):
    (tmp_path / "mine.py").write_text("import cnnlab\n\n@cnnlab.register_model\n"
                                      "def my_net(in_shape, num_classes, width=8, deep=False):\n"
                                      "    pass\n")
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump({"models_from": ["mine.py"]}))
    out = cnnlab("models", "--configfile", "mine.yaml", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "  mlp(hidden=[512, 256], dropout=0.0)" in out.stdout  # registry.mlp's defaults
    assert "  my_net(width=8, deep=False)    [mine.py]" in out.stdout
    assert "torchvision.<name>" in out.stdout
    # Whether the report will call a model a CNN, and the variant key that says otherwise.
    words = " ".join(out.stdout.split())  # however the lines were wrapped
    assert "patch embedding" in words and "(kind: cnn, mlp or other)" in words


def test_models_names_a_models_file_that_does_not_exist(tmp_path):
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump({"models_from": ["gone.py"]}))
    out = cnnlab("models", "--configfile", "mine.yaml", cwd=tmp_path)
    assert out.returncode == 2
    assert "gone.py does not exist" in out.stderr and "Traceback" not in out.stderr


def test_a_config_file_that_cannot_be_read_is_named_in_one_line(tmp_path):
    out = cnnlab("datasets", "--configfile", "missing.yaml", cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "missing.yaml: No such file or directory" in out.stderr


def test_models_lists_torchvision_classifiers_when_asked():
    out = subprocess.run([BIN / "cnnlab", "models", "--torchvision"], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "  torchvision.resnet18" in out.stdout
    assert "torchvision.fasterrcnn_resnet50_fpn" not in out.stdout  # detection, not listed


def test_datasets_lists_built_in_ones_and_the_config_s_folders(tmp_path):
    for cls, n in (("cat", 3), ("dog", 5)):
        (tmp_path / "pets" / cls).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "pets" / cls / f"{i}.png")
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump({"datasets": {"pets": {
        "folder": "pets", "image_size": 16, "channels": 3, "test_fraction": 0.4}}}))
    out = cnnlab("datasets", "--configfile", "mine.yaml", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert re.search(r"cifar10 +3x32x32 +10 classes .* train 50,000, test 10,000", out.stdout)
    pets = next(line for line in out.stdout.splitlines() if line.strip().startswith("pets"))
    assert re.search(r"3x16x16 +2 classes \(cat, dog\) +train 5, test 3", pets), pets
    (tmp_path / "pets" / "bird").mkdir()  # an empty class folder: named, exit status 2
    out = cnnlab("datasets", "--configfile", "mine.yaml", cwd=tmp_path)
    assert out.returncode == 2 and "bird" in out.stderr


def test_init_refuses_a_folder_that_holds_a_project_already(tmp_path):
    (tmp_path / "config.yaml").write_text("mine: true\n")
    out = cnnlab("init", tmp_path)
    assert out.returncode == 2 and "already has config.yaml" in out.stderr
    assert (tmp_path / "config.yaml").read_text() == "mine: true\n"  # untouched


@pytest.mark.workflow
def test_a_new_project_builds_with_the_three_commands_its_readme_prints(tmp_path):
    project = tmp_path / "x"
    out = cnnlab("init", project)
    assert out.returncode == 0, out.stderr
    config = [line for line in (project / "config.yaml").read_text().splitlines()
              if line.split("#", 1)[0].strip()]
    assert len(config) <= 10
    readme = (project / "README.md").read_text()
    commands = [line.split("#", 1)[0].strip()
                for line in readme.split("```bash\n", 1)[1].split("```", 1)[0].splitlines()]
    assert len(commands) == 3 and commands[2].startswith(f"snakemake -s {REPO / 'Snakefile'}")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    outputs = []
    for command in commands:
        done = subprocess.run(command, shell=True, cwd=project, env=env, capture_output=True,
                              text=True, timeout=1200)
        assert done.returncode == 0, f"{command}:\n{(done.stdout + done.stderr)[-3000:]}"
        outputs.append(done.stdout)
    assert "my_cnn(width=16)" in outputs[0]  # the project's own model file
    md = (project / "results/report/report.md").read_text()
    assert "## My CNN against cnnlab's" in md
    assert "my CNN" in md and "Task 1" not in md

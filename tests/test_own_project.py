"""A user's own project, outside the repository: its own model file and a folder of real
images (2,000 CIFAR-10 training and 500 test images from ../shared/datasets, exported as
PNG class folders), run through the workflow with a config of its own. Its report shows
the user's model beside the built-in ones; edits rebuild exactly what they touch."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import yaml
from PIL import Image

from conftest import REPO
from test_workflow import SNAKEMAKE, job_counts, report_rows

pytestmark = [pytest.mark.workflow, pytest.mark.real_data]
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck")


def export_cifar(mirror, root, train=2000, test=500):
    from cnnlab.data.sources import read_cifar10_mirror

    native = read_cifar10_mirror(mirror / "cifar10")
    for split, n in (("train", train), ("test", test)):
        for i in range(n):
            folder = root / split / CLASSES[native[f"{split}_labels"][i]]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(native[f"{split}_images"][i].transpose(1, 2, 0)).save(
                folder / f"{i:05d}.png")


@pytest.fixture(scope="module")
def project(real_data_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("own_project")
    (root / "models").mkdir()
    shutil.copy(REPO / "examples" / "my_models.py", root / "models" / "my_models.py")
    export_cifar(real_data_dir, root / "images")
    config = yaml.safe_load((REPO / "examples" / "own_study.yaml").read_text())
    config["scales"]["smoke"]["seeds"] = [0]  # one seed: the test counts jobs, not statistics
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    run(root)
    return root


def run(root, *extra) -> str:
    proc = subprocess.run([*SNAKEMAKE, "-d", str(root), "--cores", "2", "report",
                           "--configfile", str(root / "config.yaml"),
                           "--replace-workflow-config", *extra],
                          capture_output=True, text=True, timeout=1800)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    return out


def test_the_report_shows_the_user_s_model_beside_the_built_in_ones(project):
    md = (project / "results/report/report.md").read_text()
    rows = report_rows(md, "My models on my images", "cifar_png")
    assert set(rows) == {"MLP", "CNN (2 conv)", "my tiny VGG"}
    assert rows["my tiny VGG"][1] == "tiny_vgg"
    accuracy = float(rows["my tiny VGG"][3].split()[0])
    assert 10 < accuracy <= 100  # trained on 2,000 real images: above chance
    assert "image folder images" in md  # the data's provenance
    prepared = np.load(project / "results/data/cifar_png.npz")
    assert prepared["train_images"].shape == (2000, 3, 32, 32)
    assert list(prepared["classes"]) == list(CLASSES)


def test_a_comment_retrains_nothing_a_statement_retrains_only_its_model_s_runs(project):
    models = project / "models" / "my_models.py"
    source = models.read_text()
    try:
        models.write_text(source + "\n# a comment\n")
        assert "Nothing to be done" in run(project, "-n")
        models.write_text(source.replace("nn.MaxPool2d(2)", "nn.AvgPool2d(2)"))
        counts = job_counts(run(project, "-n"))
        # The runs of the variants using tiny_vgg (one on each dataset, one seed), no other.
        assert counts["train"] == 2
        assert not {"prepare_folder", "prepare_synthetic_data"} & set(counts)
    finally:
        models.write_text(source)


def test_one_image_added_re_prepares_the_folder_and_retrains_only_its_runs(project):
    added = project / "images" / "train" / "cat" / "99999.png"
    shutil.copy(next((project / "images" / "train" / "dog").iterdir()), added)
    try:
        counts = job_counts(run(project, "-n"))
        assert counts["prepare_folder"] == 1
        assert counts["train"] == 3  # the folder's three variants; mnist's untouched
    finally:
        added.unlink()
    assert "Nothing to be done" in run(project, "-n")

"""A user's own project, outside the repository: its own model file and a folder of real
images (2,000 CIFAR-10 training and 500 test images from ../shared/datasets, exported as
PNG class folders), run through the workflow with the ten-line config of
examples/own_study.yaml. Its report shows the user's study and nothing of Tasks 1-3;
edits rebuild exactly what they touch."""

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
    shutil.copy(REPO / "examples" / "own_study.yaml", root / "own_study.yaml")
    # One seed: the test counts jobs, not statistics.
    (root / "one_seed.yaml").write_text(yaml.safe_dump({"scales": {"smoke": {"seeds": [0]}}}))
    run(root)
    return root


def run(root, *extra, scale="smoke") -> str:
    proc = subprocess.run([*SNAKEMAKE, "-d", str(root), "--cores", "2", "report",
                           "--configfile", str(root / "own_study.yaml"),
                           str(root / "one_seed.yaml"), *extra, "--config", f"scale={scale}"],
                          capture_output=True, text=True, timeout=1800)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    return out


def test_the_example_config_is_ten_lines():
    lines = [line for line in (REPO / "examples/own_study.yaml").read_text().splitlines()
             if line.split("#", 1)[0].strip()]
    assert len(lines) <= 10


def test_the_report_shows_the_user_s_study_and_nothing_of_tasks_1_to_3(project):
    md = (project / "results/report/report.md").read_text()
    rows = report_rows(md, "My models on my images", "cifar_png")
    assert set(rows) == {"MLP", "my tiny VGG"}
    assert set(report_rows(md, "My models on my images", "mnist")) == {"MLP", "vgg"}
    # Nothing of cnnlab's own studies: no run, figure or section, no layer verification.
    assert sorted(p.name for p in (project / "results/runs").iterdir()) == ["mine"]
    assert all(p.name.startswith("mine_") for p in (project / "results/figures").iterdir())
    assert "Task 1" not in md and "Task 3" not in md
    assert "Custom autograd layers" not in md
    assert not (project / "results/verification").exists()
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
        assert counts["train"] == 2  # the folder's two variants; mnist's untouched
    finally:
        added.unlink()
    assert "Nothing to be done" in run(project, "-n")


def test_at_quick_scale_it_plans_only_the_user_s_runs(project):
    """The defaults give the quick scale too (sizes for the folder from other_datasets,
    capped at its 2,000 training images): the dry run plans the user's four variants."""
    out = run(project, "-n", scale="quick")
    counts = job_counts(out)
    assert counts["train"] == 4  # quick trains a variant's seeds in one job
    assert "results/runs/task" not in out and "verify_layers" not in counts

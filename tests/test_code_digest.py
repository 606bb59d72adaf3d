"""Code changes are tracked by meaning: the digest a rule gets as its `code` parameter
ignores comments, docstrings and layout, and follows the library's imports."""

from __future__ import annotations

from cnnlab.code_digest import code_digest, library_digest, modules_behind, source_digest
from conftest import REPO

CODE = '''"""A module."""
import math


def area(r):
    """The area."""
    return math.pi * r ** 2  # pi r squared
'''


def test_comments_docstrings_and_layout_do_not_change_the_digest():
    edited = CODE.replace("# pi r squared", "# a new comment").replace('"""The area."""',
                                                                       '"""Area of a disc."""')
    reformatted = CODE.replace("math.pi * r ** 2", "(math.pi\n            * r**2)")
    no_docstrings = CODE.replace('"""A module."""\n', "").replace('    """The area."""\n', "")
    assert source_digest(edited) == source_digest(reformatted) == source_digest(no_docstrings) \
        == source_digest(CODE)


def test_a_change_of_code_changes_the_digest():
    assert source_digest(CODE.replace("r ** 2", "r ** 3")) != source_digest(CODE)
    assert source_digest(CODE.replace("def area", "def disc_area")) != source_digest(CODE)
    assert source_digest(CODE + "\nSCALE = 2\n") != source_digest(CODE)


def test_the_modules_behind_a_script_are_followed_through_the_library():
    train = (REPO / "scripts" / "train.py").read_text()
    behind = modules_behind((train,))
    # train.py imports cnnlab.training.job; layers are three imports away.
    assert {"cnnlab.training.job", "cnnlab.training.loop", "cnnlab.models.registry",
            "cnnlab.models.layers", "cnnlab.data.batches"} <= set(behind)
    assert "cnnlab.report.plots" not in behind
    # Left out: neither included nor followed.
    without = modules_behind((train,), leave_out=("cnnlab.training.gpus", "cnnlab.training.loop"))
    assert "cnnlab.training.gpus" not in without and "cnnlab.training.loop" not in without
    assert "cnnlab.training.optimization" not in without  # only loop imports it


def test_scripts_digests_differ_by_what_they_reach(tmp_path):
    scripts = REPO / "scripts"
    tables = scripts / "plot_run_tables.py"
    # Another script that imports the same library modules, in another order: the same.
    imports = [line for line in tables.read_text().splitlines()
               if line.startswith(("from cnnlab", "import cnnlab"))]
    same = tmp_path / "same.py"
    same.write_text("# the same imports\n" + "\n".join(reversed(imports)) + "\n")
    assert code_digest(same) == code_digest(tables)
    # plot_metrics reaches the plots but not cnnlab.run_files; train.py the training code.
    assert code_digest(scripts / "plot_metrics.py") != code_digest(tables)
    assert code_digest(scripts / "plot_metrics.py") != code_digest(scripts / "train.py")
    assert len(library_digest("cnnlab.models.registry")) == 16

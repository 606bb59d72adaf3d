"""The documentation (README.md and docs/, built with MkDocs) against the project: the site
builds with no warning (a broken link or anchor, or a page missing from mkdocs.yml's nav,
fails it), every key of the config schema is named in docs/configuration.md, and every
command shown in a ```bash block is either run by a test named below or marked with what it
needs that the tests do not have."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from test_what_retrains import SCHEMA, schema_keys

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

# A command no test runs says what it needs, in a comment on its line.
NEEDS = re.compile(r"#.*\bneeds: (a GPU|the network|a SLURM cluster|the real datasets)\b")

# Each command (or the prefix of commands) shown in a ```bash block that a test runs: the
# test, and how it runs it. "CI itself": .ci/run runs it.
RUN_BY = {
    "make test": ("CI itself", "`.ci/run` runs `make test`"),
    "snakemake --cores 2 report --config scale=smoke": (
        "tests/test_workflow.py::built",
        "the fixture every workflow test builds on: `snakemake --cores 2 report "
        "--config scale=smoke` in a fresh folder"),
    "cnnlab init ": (
        "tests/test_cli.py::test_a_new_project_builds_with_the_three_commands_its_readme_prints",
        "`cnnlab init`, then the three commands of the README it writes"),
    "cnnlab models": (
        "tests/test_cli.py::test_a_new_project_builds_with_the_three_commands_its_readme_prints",
        "the first command of the new project's README"),
    "cnnlab datasets": (
        "tests/test_cli.py::test_a_new_project_builds_with_the_three_commands_its_readme_prints",
        "the second command of the new project's README"),
    "snakemake -s /path/to/cnnlab/Snakefile --cores 2 report --configfile config.yaml "
    "--config scale=smoke": (
        "tests/test_cli.py::test_a_new_project_builds_with_the_three_commands_its_readme_prints",
        "the third command of the new project's README, with the Snakefile's real path"),
    "cnnlab snapshot before": (
        "tests/test_workflow.py::"
        "test_compare_with_a_snapshot_names_the_changes_and_leaves_the_rest_at_zero",
        "`cnnlab snapshot before` in a smoke build"),
    "cnnlab compare snapshots/before": (
        "tests/test_workflow.py::"
        "test_compare_with_a_snapshot_names_the_changes_and_leaves_the_rest_at_zero",
        "`cnnlab compare snapshots/before` after a rebuild"),
    "python benchmarks/render.py": (
        "tests/test_benchmarks_page.py::test_render_check_passes_on_the_committed_page",
        "`python benchmarks/render.py --check`: what the command would write equals "
        "BENCHMARKS.md"),
    "snakemake --cores 1 results/figures/": (
        "tests/test_workflow.py::test_one_figure_rebuilds_alone",
        "one figure (task1_comparison.png) deleted and rebuilt by its path, at smoke scale"),
}


def bash_lines(page: Path) -> list[str]:
    """Each command line of the page's ```bash blocks (comment-only lines left out)."""
    blocks = re.findall(r"^```bash\n(.*?)^```", page.read_text(), re.M | re.S)
    return [line.strip() for block in blocks for line in block.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def command_of(line: str) -> str:
    return line.split(" #", 1)[0].strip()


def runner(line: str) -> str | None:
    """The RUN_BY entry whose command this line is or begins with (the longest)."""
    command = command_of(line)
    found = [key for key in RUN_BY if command == key or command.startswith(key)]
    return max(found, key=len) if found else None


def test_the_docs_build_with_no_warning(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                           "--config-file", str(REPO / "mkdocs.yml"),
                           "--site-dir", str(tmp_path / "site")],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site/configuration/index.html").exists()


def slug(heading: str) -> str:
    """The anchor MkDocs gives a heading (Python-Markdown's toc slugify)."""
    text = re.sub(r"[^\w\s-]", "", heading.strip().lower())
    return re.sub(r"[-\s]+", "-", text).strip("-")


def test_the_readme_s_links_reach_files_and_headings():
    """MkDocs checks the pages in docs/; the README is outside them."""
    readme = (REPO / "README.md").read_text()
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", readme):
        if re.match(r"[a-z]+://", target):
            continue
        path, _, anchor = target.partition("#")
        file = REPO / path if path else REPO / "README.md"
        if not file.exists():
            broken.append(target)
        elif anchor and anchor not in {slug(h) for h in re.findall(r"^#+ (.+)$",
                                                                   file.read_text(), re.M)}:
            broken.append(target)
    assert broken == [], f"README links to what does not exist: {broken}"


def documented_keys() -> set[str]:
    """The key paths of the tables under 'Every key' in docs/configuration.md: each row's
    first cell, a key path in backticks."""
    page = (REPO / "docs/configuration.md").read_text()
    section = page.split("\n## Every key\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([^`]+)` \|", section, re.M))


def test_every_config_key_is_documented_and_every_documented_key_exists():
    keys = schema_keys(SCHEMA)
    assert "training.lr" in keys and "studies.*.datasets.*.variants[].label" in keys
    documented = documented_keys()
    assert keys - documented == set(), (
        f"keys of workflow/schemas/config.schema.yaml not in docs/configuration.md, "
        f"'Every key': {sorted(keys - documented)}")
    assert documented - keys == set(), (
        f"documented keys the schema lacks: {sorted(documented - keys)}")


def test_each_test_named_for_a_command_exists():
    for command, (test, _how) in RUN_BY.items():
        if test == "CI itself":
            ci = (REPO / ".ci/run").read_text()
            assert re.search(rf"^{re.escape(command)}$", ci, re.M), (
                f".ci/run does not run {command}")
            continue
        file, name = test.split("::")
        tree = ast.parse((REPO / file).read_text())
        names = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        assert name in names, f"{command!r} is said to be run by {test}, which does not exist"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_command_shown_is_run_by_a_test_or_says_what_it_needs(page):
    unaccounted = [line for line in bash_lines(page)
                   if not NEEDS.search(line) and runner(line) is None]
    assert unaccounted == [], (
        f"{page.name}: commands no test runs and no '# needs: ...' comment marks "
        f"(add the test to RUN_BY in tests/test_docs.py, or say what it needs): {unaccounted}")


def test_every_entry_of_the_table_is_shown_somewhere():
    """No entry outlives the command it was written for."""
    shown = {runner(line) for page in PAGES for line in bash_lines(page)}
    assert set(RUN_BY) - shown == set(), f"RUN_BY entries no page shows: {set(RUN_BY) - shown}"

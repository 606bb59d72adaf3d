"""BENCHMARKS.md against its records (benchmarks/measured/*.json): the page is exactly what
benchmarks/render.py renders from them, every record names its machine, date, commit and
command, each table puts the newest record first, and a benchmark script's --record writes
a record the page can show. Torch-free and fast: only the renderer and one tiny script run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO

BENCHMARKS = REPO / "benchmarks"


@pytest.fixture
def bench(monkeypatch):
    """benchmarks/records.py and render.py, imported as the scripts import them."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import records
    import render

    return records, render


def test_the_page_is_what_the_records_render(bench):
    records, render = bench
    rendered = render.render(records.read_records())
    assert (REPO / "BENCHMARKS.md").read_text() == rendered, (
        "BENCHMARKS.md differs from what benchmarks/measured/*.json render: a record was "
        "added or edited without rendering, or the page was edited by hand. Run "
        "`python benchmarks/render.py`")


def test_every_record_names_its_machine_date_commit_and_command(bench):
    records, _ = bench
    found = records.read_records()
    assert {r["question"] for r in found} == set(records.QUESTIONS), (
        "every question of the page has at least one record")
    for record in found:
        assert records.problems(record) == [], record["file"]
        for key in ("machine", "date", "commit", "command"):
            assert record[key].strip(), f"{record['file']}: empty {key}"


def record(question, date, machine, value):
    return {"question": question, "machine": machine, "date": date, "commit": "abcdef1",
            "command": f"python benchmarks/x.py  # {machine}",
            "figures": [{"name": "wall time", "value": value, "unit": "min"}]}


def test_each_table_puts_the_newest_record_first(bench, tmp_path):
    records, render = bench
    # File names in the opposite order of the dates, so sorting by name cannot pass it.
    for name, rec in [("a", record("quick_report", "2026-11-01", "oldest CPU", 40.0)),
                      ("b", record("quick_report", "2026-12-24", "newest CPU", 20.0)),
                      ("c", record("quick_report", "2026-12-01", "middle CPU", 30.0))]:
        (tmp_path / f"{name}.json").write_text(json.dumps(rec))
    page = render.render(records.read_records(tmp_path))
    rows = [line for line in page.splitlines() if line.startswith("| 2026-")]
    assert [row.split(" | ")[1] for row in rows] == ["newest CPU", "middle CPU", "oldest CPU"]
    assert "| 2026-12-24 | newest CPU | `abcdef1` | 20.0 min |" in rows[0]
    # Questions without a record still have their section, saying so.
    assert page.count("No record yet.") == len(records.QUESTIONS) - 1


def test_a_record_without_its_commit_is_not_rendered(bench, tmp_path):
    records, render = bench
    rec = record("gpu", "2026-12-01", "a GPU", 1.0)
    del rec["commit"]
    (tmp_path / "gpu.json").write_text(json.dumps(rec))
    with pytest.raises(SystemExit, match="no commit"):
        render.render(records.read_records(tmp_path))


def test_a_record_written_into_measured_renders_the_page_at_once(bench, tmp_path,
                                                                monkeypatch):
    """Measuring and publishing is one command: the page follows a new record."""
    records, render = bench
    monkeypatch.setattr(records, "MEASURED", tmp_path)
    monkeypatch.setattr(render, "PAGE", tmp_path / "BENCHMARKS.md")
    records.write_record("gpu", [records.figure("training speed", 123, "images/s", "bf16")],
                         tmp_path, machine="a GPU", command="python benchmarks/gpu.py")
    page = (tmp_path / "BENCHMARKS.md").read_text()
    assert "| a GPU |" in page and "123 images/s" in page


def test_a_script_s_record_option_writes_a_record_the_page_shows(bench, tmp_path):
    """image_folder.py, the cheapest script, on a few synthetic images."""
    records, render = bench
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run([sys.executable, "benchmarks/image_folder.py", "--images", "30",
                           "--rounds", "1", "--record", str(tmp_path)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    [written] = records.read_records(tmp_path)
    assert records.problems(written) == []
    assert written["question"] == "data_preparation"
    assert written["command"].startswith("python benchmarks/image_folder.py --images 30")
    assert written["machine"] == records.cpu_description()
    assert "decoding, 2 workers" in render.render([written])


def test_the_renderer_imports_no_pytorch():
    done = subprocess.run([sys.executable, "-c",
                           "import sys; import render; "
                           "assert 'torch' not in sys.modules, 'render imports torch'"],
                          cwd=BENCHMARKS, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_render_check_passes_on_the_committed_page():
    """The command docs/benchmarks.md shows, as a check: what it would write is the page."""
    done = subprocess.run([sys.executable, "benchmarks/render.py", "--check"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr

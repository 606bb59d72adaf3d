"""The caches under .snakemake/cnnlab/ are written atomically and read with a guard: a
truncated file (a kill mid-write, two starts at once) is recomputed, never fatal."""

from __future__ import annotations

import json

from cnnlab.models import build_check as model_check
from cnnlab.plan.config import expand_runs, run_dir


def test_a_truncated_model_check_cache_is_recomputed(config, tmp_path):
    runs = expand_runs(config)
    one = run_dir("task1", "mnist", "mlp", 0)
    runs = {one: runs[one]}  # one small model: the check is quick
    facts = model_check.checked_models(runs, tmp_path)
    cached, = tmp_path.glob("models-*.json")
    text = cached.read_text()
    cached.write_text(text[: len(text) // 2])
    assert model_check.checked_models(runs, tmp_path) == facts
    assert json.loads(cached.read_text()) == facts  # rewritten whole


def test_cache_files_are_replaced_whole_and_unreadable_ones_read_as_none(tmp_path):
    from cnnlab.files import read_json_cache, write_json_cache

    path = tmp_path / "sub" / "c.json"
    assert read_json_cache(path) is None  # missing
    write_json_cache(path, {"a": 1})
    assert read_json_cache(path) == {"a": 1}
    path.write_bytes(b'{"a": \xff')  # truncated, not even text
    assert read_json_cache(path) is None
    assert [p.name for p in path.parent.iterdir()] == ["c.json"]  # no temporary file left

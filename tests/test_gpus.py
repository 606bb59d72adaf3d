import multiprocessing as mp
import os

import pytest

from cnnlab.training.gpus import claim_gpu


def hold(lock_dir, ready, release, result, count=2, jobs_per_gpu=1):
    with claim_gpu(lock_dir, wanted=1, count=count, jobs_per_gpu=jobs_per_gpu) as index:
        result.put((index, os.environ["CUDA_VISIBLE_DEVICES"]))
        ready.set()
        release.wait(30)


def test_concurrent_jobs_get_different_gpus(tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    ctx = mp.get_context("fork")
    release, result = ctx.Event(), ctx.Queue()
    readies = [ctx.Event(), ctx.Event()]
    procs = [ctx.Process(target=hold, args=(tmp_path, r, release, result)) for r in readies]
    for p, r in zip(procs, readies):
        p.start()
        assert r.wait(30)
    claimed = sorted(result.get(timeout=5) for _ in procs)
    assert claimed == [(0, "0"), (1, "1")]
    with pytest.raises(RuntimeError, match="all 2 GPU slots .* --resources gpu=2"):
        with claim_gpu(tmp_path, wanted=1, count=2):
            pass
    release.set()
    for p in procs:
        p.join(30)
    with claim_gpu(tmp_path, wanted=1, count=2) as index:  # freed when the jobs ended
        assert index == 0
    assert "CUDA_VISIBLE_DEVICES" not in os.environ


def test_scheduler_choice_and_cpu_jobs_are_left_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    with claim_gpu(tmp_path, wanted=1, count=4) as index:
        assert index is None and os.environ["CUDA_VISIBLE_DEVICES"] == "3"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    with claim_gpu(tmp_path, wanted=0, count=4) as index:
        assert index is None and "CUDA_VISIBLE_DEVICES" not in os.environ


def test_jobs_share_each_gpu_up_to_its_slots_spread_over_the_gpus(tmp_path, monkeypatch):
    """Two fake GPUs with three slots each: six jobs at once, three on each GPU, handed
    out GPU by GPU (the first two jobs land on different GPUs); a seventh is refused."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    ctx = mp.get_context("fork")
    release, result = ctx.Event(), ctx.Queue()
    readies = [ctx.Event() for _ in range(6)]
    procs = [ctx.Process(target=hold, args=(tmp_path, r, release, result, 2, 3))
             for r in readies]
    claimed = []
    for p, r in zip(procs, readies):
        p.start()
        assert r.wait(30)
        claimed.append(result.get(timeout=5))
    assert [c[1] for c in claimed[:2]] == ["0", "1"]
    assert sorted(c[1] for c in claimed) == ["0", "0", "0", "1", "1", "1"]
    with pytest.raises(RuntimeError, match=r"all 6 GPU slots \(2 GPUs x jobs_per_gpu 3\)"):
        with claim_gpu(tmp_path, wanted=1, count=2, jobs_per_gpu=3):
            pass
    release.set()
    for p in procs:
        p.join(30)

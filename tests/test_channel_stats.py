"""The training subset's channel statistics, computed in chunks (issue 36, memory): the same
numbers as over the whole array, with never more than a chunk of it as floats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from cnnlab.data import batches
from cnnlab.data.batches import channel_stats


def whole_array_stats(images: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """The statistics as computed before chunking: the whole subset as float at once."""
    x = torch.from_numpy(images).double().div_(255.0)
    return x.mean(dim=(0, 2, 3)).float(), x.std(dim=(0, 2, 3)).clamp_min(1e-3).float()


@pytest.mark.parametrize("chunk", [1 << 22, 3 * 8 * 8 * 5 + 7, 1])
def test_chunked_statistics_equal_the_whole_array_s(monkeypatch, chunk):
    # Channels of different means and spreads, and a count that no chunk divides evenly.
    rng = np.random.default_rng(0)
    images = np.stack([rng.integers(lo, hi, (203, 8, 8)) for lo, hi in
                       [(0, 256), (100, 120), (0, 30)]], axis=1).astype(np.uint8)
    monkeypatch.setattr(batches, "STATS_CHUNK_VALUES", chunk, raising=False)
    mean, std = channel_stats(images)
    ref_mean, ref_std = whole_array_stats(images)
    torch.testing.assert_close(mean, ref_mean, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(std, ref_std, rtol=1e-6, atol=1e-7)


class SliceRecorder:
    """An array that hands out slices of ``images`` and records how many images each held
    (as a memory-mapped or on-disk array would be read)."""

    def __init__(self, images: np.ndarray):
        self.images, self.shape, self.dtype, self.read = images, images.shape, images.dtype, []

    def __len__(self):
        return len(self.images)

    def __getitem__(self, key):
        part = self.images[key]
        self.read.append(len(part))
        return part


def test_statistics_read_the_images_a_chunk_at_a_time(monkeypatch):
    images = np.random.default_rng(1).integers(0, 256, (100, 3, 4, 4), dtype=np.uint8)
    monkeypatch.setattr(batches, "STATS_CHUNK_VALUES", 10 * 3 * 4 * 4, raising=False)
    recorder = SliceRecorder(images)
    mean, std = channel_stats(recorder)
    assert recorder.read == [10] * 10  # ten chunks of ten images: never the whole array
    torch.testing.assert_close((mean, std), whole_array_stats(images), rtol=1e-6, atol=1e-7)


def _status_kb(field: str) -> int:
    line = next(x for x in Path("/proc/self/status").read_text().splitlines()
                if x.startswith(field + ":"))
    return int(line.split()[1])


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux peak RSS only")
def test_statistics_peak_memory_is_far_below_the_subset_as_float(monkeypatch):
    # 16 MB of uint8 images: 64 MB as float32 at once, as the statistics once did.
    images = np.random.default_rng(2).integers(0, 256, (5000, 3, 32, 32), dtype=np.uint8)
    monkeypatch.setattr(batches, "STATS_CHUNK_VALUES", 1 << 16, raising=False)
    channel_stats(images[:10])  # anything allocated once per process, allocated now
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets the peak (VmHWM) to now
    except OSError:
        pytest.skip("cannot reset this process's peak memory")
    before = _status_kb("VmRSS")
    channel_stats(images)
    grown_mb = (_status_kb("VmHWM") - before) / 1024
    assert grown_mb < images.nbytes / 2**20 / 2, f"peak grew by {grown_mb:.0f} MB"

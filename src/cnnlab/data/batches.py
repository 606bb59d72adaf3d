"""Mini-batches straight from in-memory tensors (the airbench way): the dataset stays uint8
on the device, each batch is indexed, converted and normalized in one vectorized step, and
augmentation is batched tensor work. No DataLoader, no workers, no per-image PIL calls."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


class Batches:
    def __init__(self, images: np.ndarray, labels: np.ndarray, batch_size: int, device,
                 mean: torch.Tensor, std: torch.Tensor, shuffle: bool = False,
                 augment: str = "none", generator: torch.Generator | None = None,
                 drop_last: bool = False):
        self.images = torch.from_numpy(np.ascontiguousarray(images)).to(device)
        self.labels = torch.from_numpy(np.ascontiguousarray(labels)).to(device)
        self.batch_size = batch_size
        self.device = device
        # Folding normalization into a scale and shift keeps it to one fused multiply-add.
        self.scale = (1.0 / (255.0 * std)).view(1, -1, 1, 1).to(device)
        self.shift = (-mean / std).view(1, -1, 1, 1).to(device)
        self.shuffle = shuffle
        self.augment = augment
        self.generator = generator
        self.drop_last = drop_last

    def __len__(self) -> int:
        n = len(self.labels)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def order(self) -> torch.Tensor:
        """One epoch's sample order (drawn from the generator when shuffling)."""
        n = len(self.labels)
        if self.shuffle:
            return torch.randperm(n, generator=self.generator).to(self.device)
        return torch.arange(n, device=self.device)

    def iterate(self, order: torch.Tensor, start: int = 0):
        """The batches of one epoch in ``order``, from batch ``start`` on (a resumed epoch
        continues where it stopped)."""
        n = len(self.labels)
        for i in range(start, len(self)):
            idx = order[i * self.batch_size: min(n, (i + 1) * self.batch_size)]
            x = torch.addcmul(self.shift, self.images[idx].float(), self.scale)
            if self.augment == "flip_crop":
                x = flip_crop(x, self.generator)
            # channels_last: the layout CPU (oneDNN) and GPU convolution kernels run
            # fastest on.
            yield x.contiguous(memory_format=torch.channels_last), self.labels[idx]

    def __iter__(self):
        return self.iterate(self.order())


def flip_crop(x: torch.Tensor, generator: torch.Generator | None = None, pad: int = 4):
    """Random horizontal flip and random ``pad``-pixel translation (crop of a zero-padded
    image, zero being the mean after normalization), drawn independently per image."""
    n, _, h, w = x.shape
    flip = torch.rand(n, generator=generator) < 0.5
    x = torch.where(flip.view(-1, 1, 1, 1).to(x.device), x.flip(3), x)
    padded = F.pad(x, (pad, pad, pad, pad)).permute(0, 2, 3, 1)  # N, H+2p, W+2p, C
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, :, None]
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, :]
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded[batch, rows, cols].permute(0, 3, 1, 2).contiguous()


# Images per chunk of the channel statistics: about 4 M values, 32 MB as float64 however
# large the subset (a 224-pixel folder of 50,000 images is 7.5 GB as uint8, 30 GB as float32).
STATS_CHUNK_VALUES = 1 << 22


def channel_stats(images) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and (sample) std of uint8 images N x C x H x W, as fractions of 255.

    Computed chunk by chunk: only one chunk is ever float, so the statistics cost
    ``STATS_CHUNK_VALUES`` values of memory, not 4x the subset. ``images`` may be any array
    that slices into numpy arrays (a memory map too). Each chunk's sums are exact in
    float64 (integers below 2**53), summed as Python integers, so the variance
    ``(n * sum(x^2) - sum(x)^2) / (n (n - 1))`` has no cancellation error."""
    n, c = len(images), images.shape[1]
    per_image = int(np.prod(images.shape[1:]))
    step = max(1, STATS_CHUNK_VALUES // per_image)
    sums, squares = [0] * c, [0] * c
    for start in range(0, n, step):
        chunk = np.asarray(images[start:start + step], dtype=np.float64)
        chunk_sums = chunk.sum(axis=(0, 2, 3))
        chunk_squares = np.einsum("nchw,nchw->c", chunk, chunk)
        for ch in range(c):
            sums[ch] += int(chunk_sums[ch])
            squares[ch] += int(chunk_squares[ch])
    count = n * per_image // c  # values per channel
    mean = [s / count / 255.0 for s in sums]
    var = [(count * q - s * s) / (count * max(count - 1, 1)) for s, q in zip(sums, squares)]
    std = torch.tensor([v ** 0.5 / 255.0 for v in var], dtype=torch.float32).clamp_min(1e-3)
    return torch.tensor(mean, dtype=torch.float32), std

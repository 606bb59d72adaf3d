"""Inference speed of trained models: single-image latency and batched throughput."""

from __future__ import annotations

import statistics
import time

import pandas as pd
import torch

from cnnlab.models.checkpoint import load_checkpoint


@torch.no_grad()
def inference_speed(model, in_shape, device, batch_size: int = 64, repeats: int = 5):
    """Median single-image latency (ms) and median batched throughput (images/s)."""
    model.eval()

    def timed(x) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        model(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t

    one = torch.randn(1, *in_shape, device=device).contiguous(memory_format=torch.channels_last)
    many = torch.randn(batch_size, *in_shape, device=device).contiguous(
        memory_format=torch.channels_last)
    timed(one), timed(many)  # warm-up: first calls allocate and pick kernels
    latency = statistics.median(timed(one) for _ in range(repeats * 4))
    batch_time = statistics.median(timed(many) for _ in range(repeats))
    return latency * 1e3, batch_size / batch_time


def latency_table(model_files: list, specs: list[dict], repeats: int = 5) -> pd.DataFrame:
    """Inference speed of each checkpoint on the CPU, measured one model after another in
    this process (the workflow runs it as a job that holds every core, so that nothing
    else runs beside it): one row per model with its study, dataset and variant."""
    rows = []
    for path, spec in zip(model_files, specs):
        model, ckpt = load_checkpoint(path)
        with torch.no_grad():
            latency, throughput = inference_speed(model, ckpt["in_shape"],
                                                  torch.device("cpu"), repeats=repeats)
        rows.append({k: spec[k] for k in ("study", "dataset", "variant")}
                    | {"latency_ms": latency, "throughput": throughput})
    return pd.DataFrame(rows, columns=["study", "dataset", "variant", "latency_ms",
                                       "throughput"])

"""Where and how a run computes: threads, device, numeric precision and determinism."""

from __future__ import annotations

import os

import torch

# cuBLAS's workspace setting that makes its matrix products deterministic on CUDA 10.2 and
# later (PyTorch's reproducibility notes give ":4096:8" or ":16:8"; this one is faster).
CUBLAS_WORKSPACE = ":4096:8"


def configure_threads(threads: int) -> None:
    """Use exactly the threads the scheduler granted, so parallel jobs never oversubscribe."""
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process (e.g. by an earlier run in tests)
        pass


def configure_determinism(deterministic: bool) -> None:
    """With ``deterministic`` (``training.deterministic``): PyTorch's deterministic
    algorithms, where an operation that has none raises at its first call, naming itself,
    instead of silently differing between runs; cuDNN's deterministic convolutions; and
    cuBLAS's fixed workspace, set in the environment before the first CUDA matrix product
    reads it (a value the user set is kept). Without: PyTorch's defaults, the fastest
    algorithms, which on a GPU may add in a different order from one run to the next.
    Set both ways: one process may train runs of either setting in turn. cuDNN never
    benchmarks: that picks algorithms by timing, which differs between runs."""
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = False


def select_device(preference: str = "auto") -> torch.device:
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(preference)


def cpu_bf16_units() -> str | None:
    """The CPU feature that makes bf16 matrix products native here: ``"amx"`` (Intel AMX
    tiles), ``"avx512_bf16"`` (e.g. AMD Zen 4, Intel Cooper Lake) or None (AVX2 and older,
    where oneDNN emulates bf16 and autocast only adds casts). Speed-ups measured on each
    kind of CPU: `git show bd084b1:BENCHMARKS.md`, section 7."""
    probes = (("amx", "_is_amx_tile_supported"), ("avx512_bf16", "_is_avx512_bf16_supported"))
    for name, probe in probes:
        check = getattr(torch.cpu, probe, None)  # private: absent on some builds
        if check is not None and check():
            return name
    return None


def has_fast_bf16(device: torch.device) -> bool:
    """Whether this device multiplies bf16 matrices natively: CUDA GPUs from Ampere on
    (compute capability 8.0), and CPUs with AMX tiles or AVX512_BF16 instructions.
    Not ``torch.cuda.is_bf16_supported()``: it also says yes where bf16 is only emulated
    (T4, V100: capability 7.x), which would train slower than float32."""
    if device.type == "cuda":
        return torch.cuda.get_device_capability(device) >= (8, 0)
    return cpu_bf16_units() is not None


def autocast_dtype(t: dict, device: torch.device) -> torch.dtype | None:
    """bf16 autocast where the hardware has bf16 arithmetic (``precision: auto``), always
    (``bf16``) or never (``fp32``). bf16 keeps fp32's exponent range, so no loss scaling is
    needed; weights, optimizer state and the loss stay fp32."""
    precision = t.get("precision", "auto")
    if precision == "bf16" or (precision == "auto" and has_fast_bf16(device)):
        return torch.bfloat16
    return None


def precision_name(amp_dtype: torch.dtype | None) -> str:
    return "bf16" if amp_dtype is torch.bfloat16 else "fp32"

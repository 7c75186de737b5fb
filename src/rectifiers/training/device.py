"""The device a run trains on, and what it is told: the CPU's threads and memory, CUDA's
bf16 autocast. bench.py uses the same settings, so its timings are a run's."""
from __future__ import annotations

import contextlib
import ctypes
import platform

import torch

from ..experiment.config import ConfigError


def select_device(runtime) -> torch.device:
    if runtime.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("runtime.device=cuda but no CUDA device is visible: use runtime.device=auto")
    if runtime.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(runtime.device)


def keep_freed_memory() -> None:
    """Let glibc's malloc keep freed memory for reuse instead of handing it back to the OS. By
    default each training step's activations (8-17 MB at batch 128) come from fresh pages, and
    their page faults cost about a fifth of a small CNN's step time on a CPU."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc (macOS, musl): nothing to tune
    libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD: heap, not mmap, up to its maximum of 32 MiB
    libc.mallopt(-1, 1 << 30)   # M_TRIM_THRESHOLD: do not shrink the heap after every free


def autocast_for(device: torch.device):
    """bf16 autocast on CUDA; plain fp32 on CPU."""
    if device.type == "cuda":
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    n = torch.get_num_threads()
    return f"cpu ({platform.machine()}, {n} thread{'s' if n != 1 else ''})"

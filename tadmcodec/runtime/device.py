"""Device choice: CUDA when present, else CPU; an absent requested device is a clear error."""

from __future__ import annotations

import torch

from ..errors import DeviceUnavailableError


def resolve_device(requested: str | torch.device | None = None) -> torch.device:
    """The device to run on: `requested` if it exists, else CUDA when available, else CPU."""
    if requested is None or str(requested) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except (RuntimeError, TypeError) as err:
        raise DeviceUnavailableError(f"unknown device {requested!r}: {err}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceUnavailableError(f"device {requested!r} requested but CUDA is not available here")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceUnavailableError(
                f"device {requested!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist"
            )
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceUnavailableError(f"device {requested!r} requested but MPS is not available here")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise DeviceUnavailableError(f"device type {device.type!r} is not supported (use cpu, cuda or mps)")
    return device


def autocast(device: torch.device, enabled: bool = True) -> torch.autocast:
    """bf16 autocast on CUDA (fp16 where bf16 is not supported), a disabled context elsewhere or when
    not enabled (float32 throughout)."""
    if device.type == "cuda" and enabled:
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)
    return torch.autocast("cpu", enabled=False)

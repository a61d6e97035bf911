"""Optional dependencies: the plain install decodes on the CPU with ONNX Runtime; torch, for encoding,
GPU decoding, the torch runtime and training, comes with the `torch` extra. Work that needs it is
refused in one line that names the extra, before it starts."""

from __future__ import annotations

import importlib.util

from ..errors import MissingExtraError


def require_torch(purpose: str) -> None:
    """Refuse `purpose` (e.g. "encoding") where torch is not installed."""
    if importlib.util.find_spec("torch") is None:
        raise MissingExtraError(f"{purpose} needs torch, which is not installed: pip install 'tadmcodec[torch]'")

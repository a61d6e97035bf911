"""The CPU threads decoding and encoding use in this process, for both runtimes (None: each runtime's
default, all cores); set once, before or after a runtime is loaded."""

from __future__ import annotations

import sys

_requested: int | None = None


def set_cpu_threads(threads: int) -> None:
    """Use `threads` CPU threads from now on (torch at once if it is loaded; ONNX Runtime sessions
    created later)."""
    global _requested
    _requested = threads
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def cpu_threads() -> int | None:
    return _requested

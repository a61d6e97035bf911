"""Returning freed heap memory to the operating system between tiles.

Tiled runs allocate and free large tensors per tile; glibc keeps freed chunks in its arenas, so a
long run's resident memory creeps up with the number of tiles. malloc_trim after each tile keeps
the peak flat in image size. A no-op where glibc is absent.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache


@cache
def _malloc_trim() -> ctypes._CFuncPtr | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


def trim_heap() -> None:
    """Give freed heap pages back to the OS (glibc only)."""
    function = _malloc_trim()
    if function is not None:
        function(0)

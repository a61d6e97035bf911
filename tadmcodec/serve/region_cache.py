"""A byte-bounded least-recently-used cache of decoded regions, shared by the server's workers."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from PIL import Image


class RegionCache:
    """Decoded images by key, holding at most `max_bytes` of pixels; the least recently used go first."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._images: OrderedDict[Hashable, Image.Image] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable) -> Image.Image | None:
        with self._lock:
            image = self._images.get(key)
            if image is None:
                self.misses += 1
                return None
            self._images.move_to_end(key)
            self.hits += 1
            return image

    def put(self, key: Hashable, image: Image.Image) -> None:
        size = _size(image)
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._images:
                self.bytes -= _size(self._images.pop(key))
            self._images[key] = image
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, dropped = self._images.popitem(last=False)
                self.bytes -= _size(dropped)


def _size(image: Image.Image) -> int:
    return image.width * image.height * len(image.getbands())

"""Region decodes for the server on a bounded pool of worker threads.

Each worker runs the process's one loaded model (tadmcodec.runtime.decoders loads a model once per
process, under a lock; its ONNX Runtime sessions and torch modules run concurrently). Requests for a
region already being decoded wait for that decode instead of starting another; decoded regions go to a
byte-bounded cache; a decode still queued is cancelled when every request waiting for it has gone
(a client that disconnects); and when `workers + queue` distinct decodes are already pending, a new one is
refused with 503 and a Retry-After from the measured decode time, so a burst cannot grow memory or
latency without bound.
"""

from __future__ import annotations

import asyncio
import math
import time
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

from tadmcodec_formats import LimitExceededError

from ..errors import TadmError
from .iiif_request import Box, IIIFError
from .library import ServedImage
from .region_cache import RegionCache


class DecodePool:
    """Decodes regions of served images on `workers` threads (see the module docstring)."""

    def __init__(self, workers: int, queue: int, cache: RegionCache) -> None:
        self.workers, self.queue, self.cache = workers, queue, cache
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="tadm-decode")
        self._pending: dict[tuple[str, Box], asyncio.Future[Image.Image]] = {}
        self._waiters: dict[tuple[str, Box], int] = {}  # requests waiting for each pending decode
        self.decodes = 0  # decodes run (coalesced and cached requests do not count)
        self._seconds = 1.0  # running mean of a decode's time, for Retry-After

    async def region(self, image: ServedImage, box: Box) -> Image.Image:
        """The decoded pixels of `box`: from the cache, from a decode in flight, or from a new one."""
        key = (image.fingerprint, box)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        future = self._pending.get(key)
        if future is None:
            if len(self._pending) >= self.workers + self.queue:
                wait = math.ceil(self._seconds * len(self._pending) / self.workers)
                raise IIIFError(503, "the decode queue is full: retry later", retry_after=max(1, wait))
            future = asyncio.get_running_loop().run_in_executor(self._executor, self._decode, image, box)
            self._pending[key] = future
            self._waiters[key] = 0
            future.add_done_callback(lambda _: self._forget(key))
        self._waiters[key] += 1
        try:
            return await asyncio.shield(future)  # one waiter going away does not cancel the others' decode
        except asyncio.CancelledError:
            if self._waiters.get(key) == 1:
                future.cancel()  # the last waiter went away: a decode still queued never runs
            raise
        finally:
            if key in self._waiters:
                self._waiters[key] -= 1

    def _forget(self, key: tuple[str, Box]) -> None:
        self._pending.pop(key, None)
        self._waiters.pop(key, None)

    def _decode(self, image: ServedImage, box: Box) -> Image.Image:
        start = time.perf_counter()
        try:
            decoded = image.decode(box)
        except LimitExceededError as err:
            raise IIIFError(400, str(err)) from None
        except TadmError as err:
            raise IIIFError(500, f"cannot decode: {err}") from None
        self._seconds = 0.8 * self._seconds + 0.2 * (time.perf_counter() - start)
        self.decodes += 1
        self.cache.put((image.fingerprint, box), decoded)
        return decoded

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

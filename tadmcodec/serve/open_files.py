"""The .tadm files the server decodes from, kept open between requests: each with the patches it has
computed (TadmFile.keep_patches), so the tiles of one neighbourhood share their patches and latent
blocks instead of recomputing them for every tile, and a lock, since one file's reader and renderer
serve one decode at a time. The least recently used file is closed beyond `count` files."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from PIL import Image

from ..options import DecodeOptions
from ..tadm_file import TadmFile
from .iiif_request import Box

KEPT_PATCHES = 256  # per open file: about 200 MB of float pixels at most, and its latents


class OpenFiles:
    """Open files by (path, fingerprint), each decoding one box at a time with its kept patches."""

    def __init__(self, options: DecodeOptions, count: int = 8, patches: int = KEPT_PATCHES) -> None:
        self.options, self.count, self.patches = options, count, patches
        self._files: OrderedDict[tuple[Path, str], tuple[TadmFile, threading.Lock]] = OrderedDict()
        self._lock = threading.Lock()

    def decode(self, path: Path, fingerprint: str, box: Box) -> Image.Image:
        """The decoded pixels of `box` of the file at `path` (whose bytes hash to `fingerprint`)."""
        while True:
            file, lock = self._open(path, fingerprint)
            with lock:
                if self._files.get((path, fingerprint), (None,))[0] is file:  # not closed meanwhile
                    return file.decode(box)

    def _open(self, path: Path, fingerprint: str) -> tuple[TadmFile, threading.Lock]:
        key = (path, fingerprint)
        with self._lock:
            if key in self._files:
                self._files.move_to_end(key)
                return self._files[key]
        file = TadmFile(path, self.options)
        try:
            file.keep_patches(self.patches)
        except BaseException:
            file.close()
            raise
        with self._lock:
            entry = self._files.setdefault(key, (file, threading.Lock()))
            if entry[0] is not file:
                file.close()  # another worker opened it meanwhile
            while len(self._files) > self.count:
                _, (old, old_lock) = self._files.popitem(last=False)
                with old_lock:
                    old.close()
            return entry

    def close(self) -> None:
        with self._lock:
            for file, lock in self._files.values():
                with lock:
                    file.close()
            self._files.clear()

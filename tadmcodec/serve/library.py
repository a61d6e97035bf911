"""What the server serves: a library maps an IIIF identifier to an image that can give its stored LR (no
model) and decode a region; the product's library is the `.tadm` files under one folder.

Identifiers are relative paths without `.tadm`, URL-decoded once by the app. They never leave the folder:
an absolute path, a `..` or `.` segment, an empty segment, a backslash or a NUL is refused (400), and a
path whose real location (symlinks resolved) is outside the folder does not exist (404).
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PIL import Image

from tadmcodec_formats import TadmReader

from ..errors import TadmError
from ..io.image_input import lr_thumbnail
from ..options import DecodeOptions
from .iiif_request import Box, IIIFError
from .open_files import OpenFiles

SUFFIX = ".tadm"


class ServedImage(Protocol):
    """One image as the server sees it. `lr_scale` is None for an image without a stored LR."""

    width: int
    height: int
    lr_scale: int | None
    fingerprint: str  # a hash of the file's bytes: ETags and cache keys change when the file does
    mode: str  # the Pillow mode it decodes to
    icc_profile: bytes | None  # its colour profile, embedded in every response

    def lr(self, box: Box) -> Image.Image:
        """The stored LR's pixels in `box` (LR coordinates), without any model run."""
        ...

    def decode(self, box: Box) -> Image.Image:
        """The decoded pixels of `box` (full-resolution coordinates): blocking, run on a worker."""
        ...


class Library(Protocol):
    def open(self, identifier: str) -> ServedImage:
        """The image of an identifier; IIIFError 400 for a malformed one, 404 for one that does not exist."""
        ...

    def identifiers(self) -> list[str]:
        """Every identifier served, sorted (the viewer's index)."""
        ...


def relative_path(identifier: str) -> str:
    """The identifier checked as a relative path inside the library (IIIFError 400 otherwise)."""
    segments = identifier.split("/")
    if (
        not identifier
        or identifier.startswith("/")
        or "\\" in identifier
        or "\x00" in identifier
        or any(segment in ("", ".", "..") for segment in segments)
    ):
        raise IIIFError(400, f"identifier {identifier!r}: a relative path inside the served folder")
    return identifier


@dataclass(frozen=True)
class TadmImage:
    """A .tadm file served: header facts read once, the LR read on demand (a fresh reader per call, so
    workers never share a file position), regions decoded by the library's open files."""

    path: Path
    files: OpenFiles
    width: int
    height: int
    lr_scale: int
    fingerprint: str
    mode: str
    icc_profile: bytes | None

    def lr(self, box: Box) -> Image.Image:
        with TadmReader(self.path) as reader:
            return lr_thumbnail(reader.read_lr(box), reader.header.colour_type)

    def decode(self, box: Box) -> Image.Image:
        return self.files.decode(self.path, self.fingerprint, box)


def read_tadm_image(path: Path, files: OpenFiles) -> TadmImage:
    """A .tadm file as a served image: its header, and the SHA-256 of its bytes (read once)."""
    try:
        with TadmReader(path) as reader:
            header, icc = reader.header, reader.metadata.icc_profile or None
    except TadmError as err:
        raise IIIFError(500, f"{path.name}: {err}") from None
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    mode = header.colour_type.mode
    return TadmImage(path, files, header.width, header.height, header.scale, digest.hexdigest(), mode, icc)


class TadmLibrary:
    """The .tadm files under `root` (subfolders included), decoded with `options`."""

    def __init__(self, root: str | os.PathLike[str], options: DecodeOptions | None = None) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise FileNotFoundError(f"{root}: not a folder")
        self.files = OpenFiles(options or DecodeOptions())
        self._known: dict[tuple[Path, int, int], TadmImage] = {}
        self._lock = threading.Lock()

    def open(self, identifier: str) -> TadmImage:
        path = (self.root / (relative_path(identifier) + SUFFIX)).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise IIIFError(404, f"no image {identifier!r}")
        stat = path.stat()
        key = (path, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            image = self._known.get(key)
        if image is None:
            image = read_tadm_image(path, self.files)
            with self._lock:
                self._known = {k: v for k, v in self._known.items() if k[0] != path} | {key: image}
        return image

    def identifiers(self) -> list[str]:
        found = (path.relative_to(self.root) for path in self.root.rglob("*" + SUFFIX) if path.is_file())
        return sorted(str(path.with_suffix("")).replace(os.sep, "/") for path in found)

"""Streaming tiled BigTIFF output with a pyramid of reduced levels in SubIFDs (the layout QuPath,
Bio-Formats and tifffile read as one multi-resolution image).

Full-resolution tiles arrive in raster order and go straight to the file; each finished row of tiles
is halved, level after level, into temporary files beside the output, which are written as the SubIFD
levels afterwards. Levels from the codec's own scale down can come from the stored LR image (the
file's thumbnail), so no decoded pixels are needed for them. Memory: one row of tiles, held halved.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import tifffile

from tadmcodec_formats import Metadata
from tadmcodec_formats.atomic import AtomicFile, remove_stale

from ..errors import TadmError
from .image_input import XMP_TIFF_TAG
from .image_output import warn_dropped
from .raster import Box

PYRAMID_PREFIX = ".tadm-pyramid-"  # + PID-: spooled reduced levels, removed when done (or when found stale)

TILE = 512  # default tile side


def halve(pixels: np.ndarray) -> np.ndarray:
    """2x2 mean (rounded) of an (h, w, C) uint8 array, odd edges replicated: ceil(h/2) x ceil(w/2)."""
    padded = np.pad(pixels, ((0, pixels.shape[0] % 2), (0, pixels.shape[1] % 2), (0, 0)), mode="edge")
    wide = padded.astype(np.uint16)
    total = wide[0::2, 0::2] + wide[1::2, 0::2] + wide[0::2, 1::2] + wide[1::2, 1::2]
    return ((total + 2) // 4).astype(np.uint8)


class _LevelFiles:
    """Reduced levels 1..n (factor 2^k) appended band by band to raw files, read back as tiles."""

    def __init__(self, folder: Path, size: tuple[int, int], count: int, channels: int, tile: int) -> None:
        self.sizes = [(-(-size[0] // 2**k), -(-size[1] // 2**k)) for k in range(1, count + 1)]
        self.paths = [folder / f"level{k}.raw" for k in range(1, count + 1)]
        self.channels, self.tile = channels, tile
        self._halved_band: list[np.ndarray] = []
        for path in self.paths:
            path.write_bytes(b"")

    def add_block(self, pixels: np.ndarray, ends_row: bool) -> None:
        """Halve the next full-resolution block at once: blocks are tile wide (even) except at the right
        edge, where halve replicates the edge as it would for the whole row. A finished row goes to the files."""
        if not self.paths:
            return
        self._halved_band.append(halve(pixels))
        if ends_row:
            band = np.concatenate(self._halved_band, axis=1)
            self._halved_band = []
            for level, path in enumerate(self.paths):
                band = halve(band) if level else band
                with path.open("ab") as handle:
                    band.tofile(handle)

    def tiles(self, level: int) -> Iterator[np.ndarray]:
        width, height = self.sizes[level]
        row_bytes = width * self.channels
        with self.paths[level].open("rb") as handle:
            for top in range(0, height, self.tile):
                rows = min(self.tile, height - top)
                band = np.fromfile(handle, np.uint8, rows * row_bytes).reshape(rows, width, self.channels)
                yield from _tiles(band, self.tile)


def _tiles(pixels: np.ndarray, tile: int) -> Iterator[np.ndarray]:
    """Row-major tile x tile pieces of an array (smaller at the right and bottom edges)."""
    for top in range(0, pixels.shape[0], tile):
        for left in range(0, pixels.shape[1], tile):
            yield pixels[top : top + tile, left : left + tile]


def level_count(size: tuple[int, int], tile: int) -> int:
    """Halvings until the image fits one tile."""
    count, side = 0, max(size)
    while side > tile:
        side, count = -(-side // 2), count + 1
    return count


def write_pyramid_tiff(
    path: str | os.PathLike[str],
    blocks: Iterator[tuple[Box, np.ndarray]],
    box: Box,
    channels: int,
    metadata: Metadata,
    thumbnail: np.ndarray | None = None,
    thumbnail_factor: int = 0,
    tile: int = TILE,
) -> int:
    """Write (block box, (h, w, C) uint8) tile x tile blocks of `box`, in raster order, as a pyramidal
    tiled BigTIFF, atomically; levels at `thumbnail_factor` and below come from `thumbnail` when given.
    Returns the bytes written."""
    if tile <= 0 or tile % 16:
        raise TadmError(f"TIFF tiles are a positive multiple of 16 pixels, not {tile}")
    size = (box[2] - box[0], box[3] - box[1])
    count = level_count(size, tile)
    if thumbnail is not None:  # always reach down to the stored LR, the file's thumbnail
        count = max(count, thumbnail_factor.bit_length() - 1)
    decoded_levels = count if thumbnail is None else thumbnail_factor.bit_length() - 2
    small = _small_levels(thumbnail, count - decoded_levels) if thumbnail is not None else []
    options = _options(channels, tile)
    if metadata.exif:
        warn_dropped("exif", len(metadata.exif), "pyramidal TIFF")
    if metadata.text:
        warn_dropped(f"text {sorted(metadata.text)}", sum(len(v) for v in metadata.text.values()), "pyramidal TIFF")
    remove_stale(Path(path).parent, PYRAMID_PREFIX)
    prefix = f"{PYRAMID_PREFIX}{os.getpid()}-"
    with tempfile.TemporaryDirectory(dir=Path(path).parent, prefix=prefix) as folder:
        levels = _LevelFiles(Path(folder), size, decoded_levels, channels, tile)
        with AtomicFile(path) as target, tifffile.TiffWriter(target.file, bigtiff=True) as tiff:
            tiff.write(
                _full_tiles(blocks, box, levels),
                shape=(size[1], size[0], channels),
                subifds=count,
                iccprofile=metadata.icc_profile,
                extratags=_xmp_tag(metadata),
                **options,
            )
            for level in range(decoded_levels):
                width, height = levels.sizes[level]
                tiff.write(levels.tiles(level), shape=(height, width, channels), subfiletype=1, **options)
            for pixels in small:
                tiff.write(_tiles(pixels, tile), shape=pixels.shape, subfiletype=1, **options)
            tiff.close()  # flushes the last IFDs before the size is read
            written = target.file.tell()
    return written


def _full_tiles(blocks: Iterator[tuple[Box, np.ndarray]], box: Box, levels: _LevelFiles) -> Iterator[np.ndarray]:
    """Yield the full-resolution tiles, and hand each one to the reduced levels."""
    for (_, _, x1, _), pixels in blocks:
        levels.add_block(pixels, ends_row=x1 == box[2])  # before the yield: the writer stops after the last tile
        yield pixels


def _small_levels(thumbnail: np.ndarray, count: int) -> list[np.ndarray]:
    levels = [thumbnail] if count > 0 else []
    while len(levels) < count:
        levels.append(halve(levels[-1]))
    return levels


def _options(channels: int, tile: int) -> dict[str, object]:
    options: dict[str, object] = {
        "dtype": np.uint8,
        "tile": (tile, tile),
        "compression": "zlib",
        "predictor": True,
        "metadata": None,
        "photometric": "rgb" if channels >= 3 else "minisblack",
    }
    if channels in (2, 4):
        options["extrasamples"] = ("unassalpha",)
    return options


def _xmp_tag(metadata: Metadata) -> list[tuple[int, int, int, bytes, bool]]:
    return [(XMP_TIFF_TAG, 1, len(metadata.xmp), metadata.xmp, True)] if metadata.xmp else []

"""Streaming writer of .tadm files: header and metadata first, then tiles in order, index patched last.

Writes format version 2 unless asked for version 1 (for readers that predate version 2)."""

from __future__ import annotations

import os
from typing import BinaryIO, Protocol

import numpy as np

from .atomic import AtomicFile
from .chunks import FORMAT_MAJOR, READABLE_MAJORS, encode_chunk, encode_preamble
from .errors import TadmError
from .header import Header
from .layout import ALTL, LRTL, PTCH, TEND, THDR, TIDX, TILE_NUMBER, has_index, index_payload
from .lrcodec import ZSTD_LEVEL, encode_tagged_tile, encode_tile
from .metadata import Metadata
from .patches import PatchGrid


class AlphaSource(Protocol):
    """The full-resolution alpha plane, read by box (x0, y0, x1, y1) as an (h, w) uint8 array."""

    def read(self, box: tuple[int, int, int, int]) -> np.ndarray: ...


def area_average(alpha: np.ndarray, scale: int) -> np.ndarray:
    """The LR alpha channel: the mean alpha over each scale x scale block (edge blocks over the image
    part), rounded to nearest, as SPEC.md defines it."""
    height, width = alpha.shape
    lh, lw = -(-height // scale), -(-width // scale)
    padded = np.pad(alpha.astype(np.float64), ((0, lh * scale - height), (0, lw * scale - width)))
    counts = np.pad(np.ones_like(alpha, np.float64), ((0, lh * scale - height), (0, lw * scale - width)))
    total = padded.reshape(lh, scale, lw, scale).sum(axis=(1, 3))
    number = counts.reshape(lh, scale, lw, scale).sum(axis=(1, 3))
    return np.round(total / number).astype(np.uint8)


class TadmWriter:
    """Writes one container. Call write_lr_tile for every LR tile in row-major order, then
    write_patches, then write_alpha_tile for every tile when the image has alpha, then close().

    Given a path, the file appears only when close() succeeds (temporary file, then rename).
    `header.lr_codec` names the tiles' codec; PER_TILE takes the smallest for each tile (version 2) or
    zstd-predictive for the file (version 1).
    `header` becomes the header as the file stores it (Header.for_version).
    """

    def __init__(
        self,
        target: str | os.PathLike[str] | BinaryIO,
        header: Header,
        metadata: Metadata | None = None,
        zstd_level: int = ZSTD_LEVEL,
        version: int = FORMAT_MAJOR,
    ) -> None:
        if version not in READABLE_MAJORS:
            raise TadmError(f"format version {version} is not one of {READABLE_MAJORS}")
        self.header = header.for_version(version)
        # Version 2 tiles take the codec asked for, or each its smallest; version 1 files name one.
        self._codec = header.lr_codec if version == 2 else self.header.lr_codec
        self._version, self._level = version, zstd_level
        self._atomic = AtomicFile(target) if isinstance(target, (str, os.PathLike)) else None
        self._fp: BinaryIO = self._atomic.file if self._atomic else target
        self._base = self._fp.tell()
        self._offsets: list[int] = []
        self._patches_written = False
        self._write(encode_preamble(version))
        self._write(encode_chunk(THDR, header.to_bytes(version)))
        for chunk_type, payload in (metadata or Metadata()).to_chunks():
            self._write(encode_chunk(chunk_type, payload))
        self._index_at = self._position()
        if has_index(version, header.tile_chunks):
            self._write(encode_chunk(TIDX, index_payload([0] * header.tile_chunks)))

    def write_lr_tile(self, pixels: np.ndarray) -> None:
        """Append the next LR tile, an (h, w, lr_channels) uint8 array of the tile's exact size."""
        index = len(self._offsets)
        if index >= self.header.tile_count:
            raise TadmError(f"all {self.header.tile_count} LR tiles are already written")
        x0, y0, x1, y1 = self.header.lr_tile_box(index)
        self._write_tile(LRTL, index, pixels, (y1 - y0, x1 - x0, self.header.lr_channels))

    def write_patches(self, grid: PatchGrid) -> None:
        """Write the patch grid; it must come after every LR tile and fit the header's latent size."""
        if len(self._offsets) != self.header.tile_count or self._patches_written:
            raise TadmError("write_patches comes once, right after the last LR tile")
        grid.check_fits(*self.header.latent_size)
        self._write(encode_chunk(PTCH, grid.to_bytes(self._version)))
        self._patches_written = True

    def write_alpha_tile(self, alpha: np.ndarray) -> None:
        """Append the next full-resolution alpha tile, an (h, w) uint8 array under the LR tile."""
        index = len(self._offsets) - self.header.tile_count
        if not self.header.colour_type.has_alpha or not self._patches_written or index >= self.header.tile_count:
            raise TadmError("alpha tiles follow the patch grid, one per LR tile, for images with alpha only")
        x0, y0, x1, y1 = self.header.alpha_tile_box(index)
        self._write_tile(ALTL, index, np.asarray(alpha).reshape(*alpha.shape[:2], 1), (y1 - y0, x1 - x0, 1))

    def write_image(self, lr: np.ndarray, grid: PatchGrid, alpha: AlphaSource | None = None) -> None:
        """Write the whole body from the codec's output: every LR tile (the (lr_h, lr_w, 3) RGB LR, plus
        under each tile the area-averaged alpha), the patch grid, then the lossless alpha tiles. The
        alpha plane is read one tile at a time, so it need not be held whole."""
        header = self.header
        if lr.shape != (header.lr_height, header.lr_width, 3):
            raise TadmError(f"LR image is {lr.shape}, the header needs ({header.lr_height}, {header.lr_width}, 3)")
        if (alpha is not None) != header.colour_type.has_alpha:
            raise TadmError("an alpha plane is needed exactly when the header's colour type has alpha")
        for index in range(header.tile_count):
            x0, y0, x1, y1 = header.lr_tile_box(index)
            tile = lr[y0:y1, x0:x1]
            if alpha is not None:
                s = header.scale
                full = alpha.read((x0 * s, y0 * s, min(x1 * s, header.width), min(y1 * s, header.height)))
                tile = np.concatenate([tile, area_average(full, s)[..., None]], axis=2)
            self.write_lr_tile(tile)
        self.write_patches(grid)
        if alpha is not None:
            for index in range(header.tile_count):
                self.write_alpha_tile(alpha.read(header.alpha_tile_box(index)))

    def close(self) -> None:
        """Check completeness, write the end marker (version 1) and the index, and commit the file."""
        try:
            expected = self.header.tile_chunks
            if not self._patches_written or len(self._offsets) != expected:
                raise TadmError(
                    f"incomplete container: {len(self._offsets)} of {expected} tiles, "
                    f"patch grid {'written' if self._patches_written else 'missing'}"
                )
            if self._version == 1:
                self._write(encode_chunk(TEND, b""))
            if has_index(self._version, expected):
                end = self._fp.tell()
                self._fp.seek(self._base + self._index_at)
                self._write(encode_chunk(TIDX, index_payload(self._offsets)))
                self._fp.seek(end)
        except BaseException:
            self.abort()
            raise
        if self._atomic:
            self._atomic.commit()

    def abort(self) -> None:
        """Give up: a file being written to a path is removed, the target left untouched."""
        if self._atomic:
            self._atomic.discard()

    def __enter__(self) -> TadmWriter:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _write_tile(self, chunk_type: bytes, index: int, pixels: np.ndarray, shape: tuple[int, int, int]) -> None:
        if pixels.shape != shape or pixels.dtype != np.uint8:
            raise TadmError(f"tile {index} must be a uint8 array of shape {shape}, got {pixels.dtype} {pixels.shape}")
        self._offsets.append(self._position())
        if self._version == 1:
            payload = TILE_NUMBER.pack(index) + encode_tile(pixels, self._codec, self._level)
        else:
            payload = encode_tagged_tile(pixels, self._codec, self._level)
        self._write(encode_chunk(chunk_type, payload))

    def _position(self) -> int:
        return self._fp.tell() - self._base

    def _write(self, data: bytes) -> None:
        self._fp.write(data)


def write_tadm(
    target: str | os.PathLike[str] | BinaryIO,
    header: Header,
    lr: np.ndarray,
    patches: PatchGrid,
    alpha: np.ndarray | None = None,
    metadata: Metadata | None = None,
    zstd_level: int = ZSTD_LEVEL,
    version: int = FORMAT_MAJOR,
) -> None:
    """Write a whole container from in-memory arrays: lr (lr_h, lr_w, C), alpha (h, w) when present."""
    if lr.shape[:2] != (header.lr_height, header.lr_width):
        raise TadmError(f"LR image is {lr.shape[1]}x{lr.shape[0]}, header needs {header.lr_width}x{header.lr_height}")
    if header.colour_type.has_alpha and (alpha is None or alpha.shape[:2] != (header.height, header.width)):
        raise TadmError("an image with alpha needs an (height, width) alpha plane")
    with TadmWriter(target, header, metadata, zstd_level, version) as writer:
        for index in range(header.tile_count):
            x0, y0, x1, y1 = header.lr_tile_box(index)
            writer.write_lr_tile(lr[y0:y1, x0:x1])
        writer.write_patches(patches)
        if header.colour_type.has_alpha:
            for index in range(header.tile_count):
                x0, y0, x1, y1 = header.alpha_tile_box(index)
                writer.write_alpha_tile(alpha[y0:y1, x0:x1])

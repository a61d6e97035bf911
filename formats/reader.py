"""Lazy, random-access reader of .tadm files, format versions 1 and 2.

Opening reads only the preamble, THDR, metadata and TIDX (a version 2 file with a single tile has no
index: its tile follows the header); LR tiles are read on demand through the index, so a thumbnail or a
region needs only the bytes of its own tiles. verify() walks everything.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from .chunks import CHUNK_OVERHEAD, PREAMBLE_SIZE, Chunk, ChunkSource, decode_preamble, is_critical
from .errors import CorruptFileError, TadmError, UnsupportedFeatureError
from .header import Header
from .layout import ALTL, INDEX_COUNT, INDEX_ENTRY, LRTL, PTCH, TEND, THDR, TIDX, TILE_NUMBER, has_index
from .lrcodec import decode_tagged_tile, decode_tile
from .metadata import METADATA_TYPES, Metadata
from .patches import PatchGrid, PatchSummary

Source = str | os.PathLike[str] | bytes | BinaryIO
_CORE_TYPES = (THDR, TIDX, LRTL, PTCH, ALTL, TEND)


@dataclass
class TadmContents:
    """Everything a container holds, fully read and verified."""

    header: Header
    metadata: Metadata
    lr: np.ndarray
    patches: PatchGrid
    alpha: np.ndarray | None
    version: tuple[int, int]


class TadmReader:
    """Reader over a path, bytes or a binary file object (read into memory when not seekable)."""

    def __init__(self, source: Source) -> None:
        self._owned: BinaryIO | None = None
        if isinstance(source, (str, os.PathLike)):
            fp = self._owned = open(source, "rb")  # noqa: SIM115 - closed by close()
        elif isinstance(source, (bytes, bytearray, memoryview)):
            fp = io.BytesIO(source)
        else:
            fp = source if source.seekable() else io.BytesIO(source.read())
        try:
            self._open(ChunkSource(fp))
        except BaseException:
            self.close()
            raise

    def _open(self, src: ChunkSource) -> None:
        self._src = src
        self.version = decode_preamble(src.read_exact(0, min(src.size, PREAMBLE_SIZE), "preamble"))
        self._major = self.version[0]
        first = src.read_chunk(PREAMBLE_SIZE)
        if first.type != THDR:
            raise CorruptFileError(f"{first.where()}: the first chunk must be THDR")
        self.header = Header.from_bytes(first.payload, first.offset, self._major)
        self.metadata = Metadata()
        kind, offset = self._find_critical(first.end, collect_metadata=True)
        if has_index(self._major, self.header.tile_chunks):
            if kind != TIDX:
                raise CorruptFileError(f"chunk {kind.decode()} at offset {offset}: expected TIDX after the header")
            chunk = self._src.read_chunk(offset)
            self._offsets = self._parse_index(chunk)
            self._index_end = chunk.end
        else:
            self._offsets = np.array([offset], np.int64)  # version 2, one tile: it follows the header
            self._index_end = offset
        self._patches: PatchGrid | None = None

    # --- public reads -----------------------------------------------------------------
    def read_lr_tile(self, index: int) -> np.ndarray:
        """LR tile `index` (row-major) as an (h, w, lr_channels) uint8 array."""
        x0, y0, x1, y1 = self.header.lr_tile_box(index)
        return self._read_tile(LRTL, index, (y1 - y0, x1 - x0, self.header.lr_channels))

    def read_lr(self, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """The stored LR image (the thumbnail), or the LR box (x0, y0, x1, y1) of it."""
        h = self.header
        x0, y0, x1, y1 = _check_box(box or (0, 0, h.lr_width, h.lr_height), h.lr_width, h.lr_height)
        out = np.empty((y1 - y0, x1 - x0, h.lr_channels), np.uint8)
        for index in h.tiles_in_lr_box(x0, y0, x1, y1):
            _paste(out, (x0, y0, x1, y1), self.read_lr_tile(index), h.lr_tile_box(index))
        return out

    def read_alpha(self, box: tuple[int, int, int, int] | None = None) -> np.ndarray | None:
        """The full-resolution alpha plane (or a box of it, original pixels), None without alpha."""
        h = self.header
        if not h.colour_type.has_alpha:
            return None
        x0, y0, x1, y1 = _check_box(box or (0, 0, h.width, h.height), h.width, h.height)
        out = np.empty((y1 - y0, x1 - x0), np.uint8)
        s = h.scale
        for index in h.tiles_in_lr_box(x0 // s, y0 // s, -(-x1 // s), -(-y1 // s)):
            bx0, by0, bx1, by1 = h.alpha_tile_box(index)
            tile = self._read_tile(ALTL, index, (by1 - by0, bx1 - bx0, 1))
            _paste(out, (x0, y0, x1, y1), tile[:, :, 0], (bx0, by0, bx1, by1))
        return out

    def read_patches(self) -> PatchGrid:
        """The latent patch grid and its timesteps (read once, after the last LR tile)."""
        if self._patches is None:
            chunk = self._patch_chunk()
            self._patches = PatchGrid.from_bytes(chunk.payload, self.header.latent_size, chunk.where(), self._major)
        return self._patches

    def read_patch_summary(self) -> PatchSummary:
        """The patch grid's shape and timestep range, checked, in bounded memory (info, verify)."""
        chunk = self._patch_chunk()
        return PatchSummary.summarize(chunk.payload, self.header.latent_size, chunk.where(), self._major)

    def _patch_chunk(self) -> Chunk:
        last = int(self._offsets[self.header.tile_count - 1])
        _, length = self._src.read_head(last)
        chunk = self._next_critical(last + CHUNK_OVERHEAD + length)
        if chunk.type != PTCH:
            raise CorruptFileError(f"{chunk.where()}: expected PTCH after the last LR tile")
        self._patches_end = chunk.end
        return chunk

    def check_end(self) -> None:
        """The file ends right after its last chunk: version 1's empty end marker after the last tile, the
        last tile itself in version 2 (SPEC: decoders check this before decoding pixels; tiles and the
        patch grid are checked as they are read)."""
        h = self.header
        self.read_patches()
        offset = self._patches_end
        if h.colour_type.has_alpha:
            last = int(self._offsets[2 * h.tile_count - 1])
            offset = last + CHUNK_OVERHEAD + self._src.read_head(last)[1]
        if self._major == 1:
            chunk = self._next_critical(offset)
            if chunk.type != TEND or chunk.payload:
                raise CorruptFileError(f"{chunk.where()}: expected an empty TEND after the last tile")
            offset = chunk.end
        self._check_nothing_after(offset)

    def _check_nothing_after(self, end: int) -> None:
        if end != self._src.size:
            raise CorruptFileError(
                f"{self._src.size - end} bytes of trailing data after the last chunk at offset {end}"
            )

    def verify(self) -> None:
        """Walk every chunk: CRCs, lengths, order, index offsets, tile payloads, the end, no trailing bytes."""
        h, n = self.header, self.header.tile_count
        expected = [LRTL] * n + [PTCH] + ([ALTL] * n if h.colour_type.has_alpha else []) + [TEND] * (self._major == 1)
        offset = self._index_end
        for position, want in enumerate(expected):
            chunk = self._next_critical(offset)
            if chunk.type != want:
                raise CorruptFileError(f"{chunk.where()}: expected {want.decode()}")
            if want in (LRTL, ALTL):
                slot = position if want == LRTL else position - 1
                if chunk.offset != self._offsets[slot]:
                    raise CorruptFileError(f"{chunk.where()}: TIDX entry {slot} says {self._offsets[slot]}")
                index = slot % n
                box = h.lr_tile_box(index) if want == LRTL else h.alpha_tile_box(index)
                channels = h.lr_channels if want == LRTL else 1
                self._decode_tile(chunk, index, (box[3] - box[1], box[2] - box[0], channels))
            elif want == PTCH:
                PatchSummary.summarize(chunk.payload, h.latent_size, chunk.where(), self._major)
            elif chunk.payload:
                raise CorruptFileError(f"{chunk.where()}: TEND must be empty")
            offset = chunk.end
        self._check_nothing_after(offset)

    def read_all(self) -> TadmContents:
        """Verify the whole file and return its contents."""
        self.verify()
        return TadmContents(
            self.header, self.metadata, self.read_lr(), self.read_patches(), self.read_alpha(), self.version
        )

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary of the header, tiling, patch grid and metadata."""
        h, grid = self.header, self.read_patch_summary()
        return {
            "format_version": f"{self.version[0]}.{self.version[1]}",
            "width": h.width,
            "height": h.height,
            "mode": h.mode,
            "scale": h.scale,
            "colour_space": h.colour_space.name.lower(),
            "bit_depth": h.bit_depth,
            "lr_size": [h.lr_width, h.lr_height],
            "lr_tile_size": [h.tile_width, h.tile_height],
            "lr_tiles": h.tile_count,
            "lr_codec": h.lr_codec.name.lower(),
            "model_id": h.model_id,
            "model_sha256": h.model_sha256.hex(),
            "patch_grid": {
                "patch_size": grid.patch_size,
                "overlap": grid.overlap,
                "cols": grid.cols,
                "rows": grid.rows,
                "timestep_min": grid.timestep_min,
                "timestep_max": grid.timestep_max,
                "timestep_mean": grid.timestep_mean,
            },
            "metadata": {
                "exif_bytes": len(self.metadata.exif or b""),
                "icc_profile_bytes": len(self.metadata.icc_profile or b""),
                "xmp_bytes": len(self.metadata.xmp or b""),
                "text": dict(self.metadata.text),
            },
            "file_bytes": self._src.size,
        }

    def close(self) -> None:
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def __enter__(self) -> TadmReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- internals -------------------------------------------------------------------
    def _next_critical(self, offset: int) -> Chunk:
        """The next critical chunk from offset on, read and CRC-checked."""
        return self._src.read_chunk(self._find_critical(offset)[1])

    def _find_critical(self, offset: int, collect_metadata: bool = False) -> tuple[bytes, int]:
        """(type, offset) of the next critical chunk from offset on, its payload not read yet; ancillary
        chunks on the way are read and CRC-checked (metadata collected while collect_metadata)."""
        while True:
            kind, _ = self._src.read_head(offset)
            if is_critical(kind):
                if kind not in _CORE_TYPES:
                    raise UnsupportedFeatureError(f"chunk {kind.decode()} at offset {offset}: unknown critical chunk")
                return kind, offset
            chunk = self._src.read_chunk(offset)
            if chunk.type in METADATA_TYPES:
                if not collect_metadata:
                    raise CorruptFileError(f"{chunk.where()}: metadata chunks belong right after THDR")
                self.metadata.add(chunk)
            offset = chunk.end

    def _parse_index(self, chunk: Chunk) -> np.ndarray:
        expected = self.header.tile_chunks
        if len(chunk.payload) != INDEX_COUNT.size + expected * INDEX_ENTRY.size:
            raise CorruptFileError(f"{chunk.where()}: size does not fit {expected} entries")
        (count,) = INDEX_COUNT.unpack_from(chunk.payload)
        offsets = np.frombuffer(chunk.payload, ">u8", offset=INDEX_COUNT.size).astype(np.int64)
        if count != expected or (offsets < chunk.end).any() or (np.diff(offsets) <= 0).any():
            raise CorruptFileError(f"{chunk.where()}: entries must be {expected} increasing offsets past TIDX")
        return offsets

    def _read_tile(self, kind: bytes, index: int, shape: tuple[int, int, int]) -> np.ndarray:
        slot = index + (self.header.tile_count if kind == ALTL else 0)
        chunk = self._src.read_chunk(int(self._offsets[slot]))
        if chunk.type != kind:
            raise CorruptFileError(f"{chunk.where()}: TIDX entry {slot} should point at {kind.decode()}")
        return self._decode_tile(chunk, index, shape)

    def _decode_tile(self, chunk: Chunk, index: int, shape: tuple[int, int, int]) -> np.ndarray:
        if self._major == 2:
            return decode_tagged_tile(chunk.payload, shape, chunk.where())
        if len(chunk.payload) < TILE_NUMBER.size or TILE_NUMBER.unpack_from(chunk.payload)[0] != index:
            raise CorruptFileError(f"{chunk.where()}: expected tile number {index}")
        return decode_tile(chunk.payload[TILE_NUMBER.size :], shape, self.header.lr_codec, chunk.where())


def read_tadm(source: Source) -> TadmContents:
    """Read and verify a whole container."""
    with TadmReader(source) as reader:
        return reader.read_all()


def _check_box(box: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (int(v) for v in box)
    if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
        raise TadmError(f"box {box} is empty or outside the {width}x{height} image")
    return x0, y0, x1, y1


def _paste(
    out: np.ndarray, out_box: tuple[int, int, int, int], tile: np.ndarray, tile_box: tuple[int, int, int, int]
) -> None:
    """Copy the overlap of a tile (placed at tile_box) into out (placed at out_box)."""
    x0, y0 = max(out_box[0], tile_box[0]), max(out_box[1], tile_box[1])
    x1, y1 = min(out_box[2], tile_box[2]), min(out_box[3], tile_box[3])
    out[y0 - out_box[1] : y1 - out_box[1], x0 - out_box[0] : x1 - out_box[0]] = tile[
        y0 - tile_box[1] : y1 - tile_box[1], x0 - tile_box[0] : x1 - tile_box[0]
    ]

"""The PTCH chunk: the latent patch grid and one diffusion timestep per patch.

The grid is defined by the latent size (from the header), the patch size and the overlap; the
stored column and row counts are checked against that definition.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np
import zstandard

from .errors import CorruptFileError, LimitExceededError
from .lrcodec import decompress_exact

MAX_TIMESTEP = 999
MIN_PATCH, MAX_PATCH = 8, 4096
MAX_PATCHES = 1 << 28
_FIXED = struct.Struct(">HHII")


def patch_starts(length: int, patch: int, overlap: int) -> list[int]:
    """Start offsets of patches covering [0, length): stride patch - overlap, the last one flush right."""
    if length <= patch:
        return [0]
    stride = patch - overlap
    count = -(-(length - patch) // stride) + 1
    return [min(i * stride, length - patch) for i in range(count)]


def patch_count(length: int, patch: int, overlap: int) -> int:
    """Number of patches patch_starts() returns, without building the list."""
    return 1 if length <= patch else -(-(length - patch) // (patch - overlap)) + 1


def grid_shape(latent_width: int, latent_height: int, patch: int, overlap: int) -> tuple[int, int]:
    """(rows, cols) of the patch grid a latent of that size has."""
    return patch_count(latent_height, patch, overlap), patch_count(latent_width, patch, overlap)


@dataclass(frozen=True)
class PatchGrid:
    """Latent patches (size and overlap in latent pixels) and their timesteps, shape (rows, cols)."""

    patch_size: int
    overlap: int
    timesteps: np.ndarray = field(compare=False)

    def __post_init__(self) -> None:
        if not MIN_PATCH <= self.patch_size <= MAX_PATCH:
            raise LimitExceededError(f"PTCH patch size {self.patch_size} outside [{MIN_PATCH}, {MAX_PATCH}]")
        if not 0 <= self.overlap <= self.patch_size // 2:
            raise CorruptFileError(f"PTCH overlap {self.overlap} outside [0, patch size / 2]")
        steps = np.asarray(self.timesteps)
        if steps.ndim != 2 or steps.size == 0:
            raise CorruptFileError("PTCH timesteps must be a non-empty (rows, cols) array")
        if steps.min() < 0 or steps.max() > MAX_TIMESTEP:
            raise CorruptFileError(f"PTCH timesteps must lie in [0, {MAX_TIMESTEP}]")
        object.__setattr__(self, "timesteps", steps.astype(np.uint16))

    @property
    def rows(self) -> int:
        return self.timesteps.shape[0]

    @property
    def cols(self) -> int:
        return self.timesteps.shape[1]

    @property
    def timestep_max(self) -> int:
        return int(self.timesteps.max())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PatchGrid):
            return NotImplemented
        return (self.patch_size, self.overlap) == (other.patch_size, other.overlap) and np.array_equal(
            self.timesteps, other.timesteps
        )

    def check_fits(self, latent_width: int, latent_height: int) -> None:
        """The grid must be the one the latent size, patch size and overlap define."""
        want = grid_shape(latent_width, latent_height, self.patch_size, self.overlap)
        if (self.rows, self.cols) != want:
            raise CorruptFileError(
                f"PTCH grid {self.rows}x{self.cols} does not match {want[0]}x{want[1]} for a "
                f"{latent_width}x{latent_height} latent"
            )

    def to_bytes(self) -> bytes:
        frame = zstandard.ZstdCompressor(level=19, write_content_size=True).compress(
            self.timesteps.astype(">u2").tobytes()
        )
        return _FIXED.pack(self.patch_size, self.overlap, self.cols, self.rows) + frame

    @classmethod
    def from_bytes(cls, payload: bytes, latent_size: tuple[int, int], where: str) -> PatchGrid:
        """Parse a PTCH payload for a latent of latent_size (width, height)."""
        patch, overlap, cols, rows = _grid_shape(payload, latent_size, where)
        raw = decompress_exact(payload[_FIXED.size :], 2 * cols * rows, where)
        steps = np.frombuffer(raw, ">u2").reshape(rows, cols)
        if steps.max() > MAX_TIMESTEP:
            raise CorruptFileError(f"{where}: timestep above {MAX_TIMESTEP}")
        return cls(patch, overlap, steps)


@dataclass(frozen=True)
class PatchSummary:
    """What `info` and `verify` need of a patch grid, read in bounded memory (summarize)."""

    patch_size: int
    overlap: int
    cols: int
    rows: int
    timestep_min: int
    timestep_max: int
    timestep_mean: float

    @classmethod
    def summarize(cls, payload: bytes, latent_size: tuple[int, int], where: str) -> PatchSummary:
        """Check a PTCH payload as PatchGrid.from_bytes does, decompressing SUMMARY_CHUNK bytes at a time:
        a grid of 2^28 patches (512 MB of timesteps, within the limits) costs a few megabytes here."""
        patch, overlap, cols, rows = _grid_shape(payload, latent_size, where)
        frame, expected = payload[_FIXED.size :], 2 * cols * rows
        try:
            if zstandard.get_frame_parameters(frame).content_size != expected:
                raise CorruptFileError(f"{where}: zstd frame does not declare {expected} bytes")
            reader = zstandard.ZstdDecompressor().stream_reader(frame, read_across_frames=False)
            low, high, total, seen = MAX_TIMESTEP, 0, 0, 0
            while chunk := reader.read(SUMMARY_CHUNK):
                if len(chunk) % 2 or seen + len(chunk) > expected:
                    raise CorruptFileError(f"{where}: zstd frame does not hold exactly {expected} bytes")
                steps = np.frombuffer(chunk, ">u2")
                low, high, total = min(low, int(steps.min())), max(high, int(steps.max())), total + int(steps.sum())
                seen += len(chunk)
        except zstandard.ZstdError as err:
            raise CorruptFileError(f"{where}: zstd data is damaged ({err})") from None
        if seen != expected:
            raise CorruptFileError(f"{where}: zstd frame does not hold exactly {expected} bytes")
        if high > MAX_TIMESTEP:
            raise CorruptFileError(f"{where}: timestep above {MAX_TIMESTEP}")
        return cls(patch, overlap, cols, rows, low, high, round(total / (cols * rows), 2))


SUMMARY_CHUNK = 1 << 20


def _grid_shape(payload: bytes, latent_size: tuple[int, int], where: str) -> tuple[int, int, int, int]:
    """(patch, overlap, cols, rows) of a PTCH payload, checked against the latent it must cover."""
    if len(payload) < _FIXED.size:
        raise CorruptFileError(f"{where}: payload too short")
    patch, overlap, cols, rows = _FIXED.unpack_from(payload)
    if not MIN_PATCH <= patch <= MAX_PATCH or overlap > patch // 2:
        raise CorruptFileError(f"{where}: invalid patch size {patch} or overlap {overlap}")
    want_rows, want_cols = grid_shape(*latent_size, patch, overlap)
    if (cols, rows) != (want_cols, want_rows):
        raise CorruptFileError(
            f"{where}: grid {cols}x{rows} does not match the latent (expected {want_cols}x{want_rows})"
        )
    if cols * rows > MAX_PATCHES:
        raise LimitExceededError(
            f"{where}: grid {cols}x{rows} has {cols * rows} patches, above the limit {MAX_PATCHES}"
        )
    return patch, overlap, cols, rows

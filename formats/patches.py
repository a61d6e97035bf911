"""The PTCH chunk: the latent patch grid and one diffusion timestep per patch.

The grid is defined by the latent size (from the header), the patch size and the overlap. Version 1
stores the column and row counts (checked against that definition) and the timesteps as 16-bit values in
a zstd frame; version 2 derives the counts and bit-packs the timesteps above their minimum, which for
the few dozen patches of a small image is a third of the bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import zstandard

from .errors import CorruptFileError, LimitExceededError
from .lrcodec import decompress_exact
from .varint import encode_varint, read_varint

MAX_TIMESTEP = 999
MIN_PATCH, MAX_PATCH = 8, 4096
MAX_PATCHES = 1 << 28
TIMESTEP_BITS = 10  # enough for 0 .. MAX_TIMESTEP
BLOCK_VALUES = 1 << 16  # timesteps checked per step: bounded memory for any grid within the limits
_FIXED_V1 = struct.Struct(">HHII")


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

    def to_bytes(self, major: int) -> bytes:
        if major == 1:
            frame = zstandard.ZstdCompressor(level=19, write_content_size=True).compress(
                self.timesteps.astype(">u2").tobytes()
            )
            return _FIXED_V1.pack(self.patch_size, self.overlap, self.cols, self.rows) + frame
        low = int(self.timesteps.min())
        bits = (int(self.timesteps.max()) - low).bit_length()
        shifts = np.arange(bits - 1, -1, -1, dtype=np.uint16)
        values = self.timesteps.ravel()
        packed = [
            np.packbits(((values[i : i + BLOCK_VALUES, None] - low) >> shifts & 1).astype(np.uint8)).tobytes()
            for i in range(0, values.size, BLOCK_VALUES)  # a multiple of 8 values: blocks end on bytes
        ]
        fields = encode_varint(self.patch_size) + encode_varint(self.overlap) + encode_varint(low) + bytes([bits])
        return fields + b"".join(packed)

    @classmethod
    def from_bytes(cls, payload: bytes, latent_size: tuple[int, int], where: str, major: int) -> PatchGrid:
        """Parse a PTCH payload of that major version for a latent of latent_size (width, height)."""
        patch, overlap, cols, rows, blocks = _parse(payload, latent_size, where, major)
        steps = np.concatenate(list(blocks)).reshape(rows, cols)
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
    def summarize(cls, payload: bytes, latent_size: tuple[int, int], where: str, major: int) -> PatchSummary:
        """Check a PTCH payload as PatchGrid.from_bytes does, BLOCK_VALUES timesteps at a time: a grid of
        2^28 patches (512 MB of timesteps, within the limits) costs about a megabyte here."""
        patch, overlap, cols, rows, blocks = _parse(payload, latent_size, where, major, streaming=True)
        low, high, total = MAX_TIMESTEP, 0, 0
        for steps in blocks:
            low, high, total = min(low, int(steps.min())), max(high, int(steps.max())), total + int(steps.sum())
        return cls(patch, overlap, cols, rows, low, high, round(total / (cols * rows), 2))


def _parse(
    payload: bytes, latent_size: tuple[int, int], where: str, major: int, streaming: bool = False
) -> tuple[int, int, int, int, Iterator[np.ndarray]]:
    """(patch, overlap, cols, rows, the timesteps in checked blocks) of a PTCH payload."""
    if major == 1:
        if len(payload) < _FIXED_V1.size:
            raise CorruptFileError(f"{where}: payload too short")
        patch, overlap, cols, rows = _FIXED_V1.unpack_from(payload)
        _check_grid(patch, overlap, latent_size, where, (cols, rows))
        return patch, overlap, cols, rows, _zstd_blocks(payload[_FIXED_V1.size :], cols * rows, where, streaming)
    patch, position = read_varint(payload, 0, where)
    overlap, position = read_varint(payload, position, where)
    low, position = read_varint(payload, position, where)
    cols, rows = _check_grid(patch, overlap, latent_size, where)
    if position >= len(payload) or payload[position] > TIMESTEP_BITS or low > MAX_TIMESTEP:
        raise CorruptFileError(f"{where}: invalid timestep minimum {low} or bit width")
    packed = memoryview(payload)[position + 1 :]  # no copy of a large grid
    return patch, overlap, cols, rows, _packed_blocks(packed, cols * rows, low, payload[position], where)


def _check_grid(
    patch: int, overlap: int, latent_size: tuple[int, int], where: str, stored: tuple[int, int] | None = None
) -> tuple[int, int]:
    """(cols, rows) of the grid a latent of latent_size has, checked against the limits and, in version 1,
    against the stored counts."""
    if not MIN_PATCH <= patch <= MAX_PATCH or overlap > patch // 2:
        raise CorruptFileError(f"{where}: invalid patch size {patch} or overlap {overlap}")
    rows, cols = grid_shape(*latent_size, patch, overlap)
    if stored is not None and stored != (cols, rows):
        raise CorruptFileError(
            f"{where}: grid {stored[0]}x{stored[1]} does not match the latent (expected {cols}x{rows})"
        )
    if cols * rows > MAX_PATCHES:
        raise LimitExceededError(
            f"{where}: grid {cols}x{rows} has {cols * rows} patches, above the limit {MAX_PATCHES}"
        )
    return cols, rows


def _zstd_blocks(frame: bytes, count: int, where: str, streaming: bool) -> Iterator[np.ndarray]:
    """Version 1: 16-bit big-endian timesteps in one zstd frame that declares exactly their size; whole
    (and checked to end with the payload) or, streaming, BLOCK_VALUES at a time."""
    expected = 2 * count
    if not streaming:
        yield _checked(np.frombuffer(decompress_exact(frame, expected, where), ">u2"), where)
        return
    try:
        if zstandard.get_frame_parameters(frame).content_size != expected:
            raise CorruptFileError(f"{where}: zstd frame does not declare {expected} bytes")
        reader = zstandard.ZstdDecompressor().stream_reader(frame, read_across_frames=False)
        seen = 0
        while chunk := reader.read(2 * BLOCK_VALUES):
            if len(chunk) % 2 or seen + len(chunk) > expected:
                raise CorruptFileError(f"{where}: zstd frame does not hold exactly {expected} bytes")
            seen += len(chunk)
            yield _checked(np.frombuffer(chunk, ">u2"), where)
    except zstandard.ZstdError as err:
        raise CorruptFileError(f"{where}: zstd data is damaged ({err})") from None
    if seen != expected:
        raise CorruptFileError(f"{where}: zstd frame does not hold exactly {expected} bytes")


def _packed_blocks(packed: memoryview, count: int, low: int, bits: int, where: str) -> Iterator[np.ndarray]:
    """Version 2: each timestep minus `low` in `bits` bits, most significant first, zero-padded to a byte."""
    if len(packed) != -(-count * bits // 8):
        raise CorruptFileError(f"{where}: {len(packed)} bytes of timesteps, expected {-(-count * bits // 8)}")
    if bits == 0:
        for start in range(0, count, BLOCK_VALUES):
            yield np.full(min(BLOCK_VALUES, count - start), low, np.uint16)
        return
    weights = (1 << np.arange(bits - 1, -1, -1)).astype(np.uint16)
    for start in range(0, count, BLOCK_VALUES):  # BLOCK_VALUES is a multiple of 8: blocks start on bytes
        values = min(BLOCK_VALUES, count - start)
        chunk = np.frombuffer(packed, np.uint8, -(-values * bits // 8), start * bits // 8)
        planes = np.unpackbits(chunk)
        if planes[values * bits :].any():
            raise CorruptFileError(f"{where}: padding bits after the timesteps are not zero")
        yield _checked(planes[: values * bits].reshape(values, bits).astype(np.uint16) @ weights + low, where)


def _checked(steps: np.ndarray, where: str) -> np.ndarray:
    if steps.size and int(steps.max()) > MAX_TIMESTEP:
        raise CorruptFileError(f"{where}: timestep above {MAX_TIMESTEP}")
    return steps

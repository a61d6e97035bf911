"""Tile payload codecs: raw bytes, or zstd over a colour transform and per-channel spatial predictors.

Every predictor is undone by cumulative sums modulo 256, so decoding is vectorised (no per-pixel loop).
Version 1 files name one codec in THDR; in version 2 every tile payload starts with its codec's number
(encode_tagged_tile, decode_tagged_tile).
"""

from __future__ import annotations

import numpy as np
import zstandard

from .errors import CorruptFileError, UnsupportedFeatureError
from .header import LRCodec

PREDICTORS = ("none", "left", "up", "gradient")
ZSTD_LEVEL = 19
TILE_CODECS = (LRCodec.RAW, LRCodec.ZSTD_PREDICTIVE)


def encode_tagged_tile(pixels: np.ndarray, codec: LRCodec, level: int = ZSTD_LEVEL) -> bytes:
    """A version 2 tile payload: the codec's number, then the tile in it; PER_TILE takes the smallest."""
    choices = TILE_CODECS if codec == LRCodec.PER_TILE else (codec,)
    return min((bytes([c]) + encode_tile(pixels, c, level) for c in choices), key=len)


def decode_tagged_tile(payload: bytes, shape: tuple[int, int, int], where: str) -> np.ndarray:
    """Decode a version 2 tile payload, refusing a codec number this reader does not know."""
    if not payload:
        raise CorruptFileError(f"{where}: empty tile payload")
    if payload[0] not in TILE_CODECS:
        raise UnsupportedFeatureError(f"{where}: unknown tile codec {payload[0]}")
    return decode_tile(payload[1:], shape, LRCodec(payload[0]), where)


def encode_tile(pixels: np.ndarray, codec: LRCodec, level: int = ZSTD_LEVEL) -> bytes:
    """Compress an (H, W, C) uint8 tile with the given codec."""
    if pixels.dtype != np.uint8 or pixels.ndim != 3:
        raise TypeError("tiles are (H, W, C) uint8 arrays")
    if codec == LRCodec.RAW:
        return np.ascontiguousarray(pixels).tobytes()
    planes = np.moveaxis(pixels, 2, 0)
    options = [planes, _subtract_green(planes)] if planes.shape[0] >= 3 else [planes]
    scored = [(*_best_residuals(option), transform) for transform, option in enumerate(options)]
    residuals, predictors, _, transform = min(scored, key=lambda item: item[2])
    frame = zstandard.ZstdCompressor(level=level, write_content_size=True).compress(residuals.tobytes())
    return bytes([transform, *predictors]) + frame


def decode_tile(payload: bytes, shape: tuple[int, int, int], codec: LRCodec, where: str) -> np.ndarray:
    """Decompress a tile payload to an (H, W, C) uint8 array, refusing any size mismatch."""
    height, width, channels = shape
    expected = height * width * channels
    if codec == LRCodec.RAW:
        if len(payload) != expected:
            raise CorruptFileError(f"{where}: raw tile has {len(payload)} bytes, expected {expected}")
        return np.frombuffer(payload, np.uint8).reshape(shape).copy()
    if codec != LRCodec.ZSTD_PREDICTIVE:
        raise UnsupportedFeatureError(f"{where}: unknown tile codec {int(codec)}")
    if len(payload) < 1 + channels:
        raise CorruptFileError(f"{where}: tile payload too short for its predictor bytes")
    transform, predictors = payload[0], payload[1 : 1 + channels]
    if transform > 1 or (transform == 1 and channels < 3) or any(p >= len(PREDICTORS) for p in predictors):
        raise CorruptFileError(f"{where}: invalid colour transform or predictor byte")
    raw = decompress_exact(payload[1 + channels :], expected, where)
    planes = np.frombuffer(raw, np.uint8).reshape(channels, height, width).copy()
    for c, predictor in enumerate(predictors):
        planes[c] = _unpredict(planes[c], predictor)
    if transform == 1:
        planes = _add_green(planes)
    return np.ascontiguousarray(np.moveaxis(planes, 0, 2))


def decompress_exact(frame: bytes, expected: int, where: str) -> bytes:
    """Decompress one zstd frame that must declare and hold exactly `expected` bytes."""
    try:
        declared = zstandard.get_frame_parameters(frame).content_size
        if declared != expected:
            raise CorruptFileError(f"{where}: zstd frame declares {declared} bytes, expected {expected}")
        decompressor = zstandard.ZstdDecompressor().decompressobj()
        data = decompressor.decompress(frame)
    except zstandard.ZstdError as err:
        raise CorruptFileError(f"{where}: zstd data is damaged ({err})") from None
    if len(data) != expected or not decompressor.eof or decompressor.unused_data:
        raise CorruptFileError(f"{where}: zstd frame does not hold exactly {expected} bytes")
    return data


def _subtract_green(planes: np.ndarray) -> np.ndarray:
    out = planes.copy()
    out[0] -= planes[1]
    out[2] -= planes[1]
    return out


def _add_green(planes: np.ndarray) -> np.ndarray:
    planes[0] += planes[1]
    planes[2] += planes[1]
    return planes


def _predict(plane: np.ndarray, predictor: int) -> np.ndarray:
    """Residual of one plane under a predictor (mod 256, zero padding above and left)."""
    residual = plane.copy()
    if predictor in (1, 3):
        residual[:, 1:] -= plane[:, :-1]
    if predictor in (2, 3):
        residual[1:, :] -= plane[:-1, :]
    if predictor == 3:
        residual[1:, 1:] += plane[:-1, :-1]
    return residual


def _unpredict(residual: np.ndarray, predictor: int) -> np.ndarray:
    plane = residual
    if predictor in (1, 3):
        plane = np.cumsum(plane, axis=1, dtype=np.uint8)
    if predictor in (2, 3):
        plane = np.cumsum(plane, axis=0, dtype=np.uint8)
    return plane


def _best_residuals(planes: np.ndarray) -> tuple[np.ndarray, list[int], int]:
    """Pick, per plane, the predictor with the smallest sum of absolute signed residuals."""
    chosen, predictors, cost = [], [], 0
    for plane in planes:
        candidates = [_predict(plane, p) for p in range(len(PREDICTORS))]
        costs = [int(np.abs(r.view(np.int8).astype(np.int32)).sum()) for r in candidates]
        best = int(np.argmin(costs))
        chosen.append(candidates[best])
        predictors.append(best)
        cost += costs[best]
    return np.stack(chosen), predictors, cost

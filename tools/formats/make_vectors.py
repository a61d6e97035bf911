"""Write the conformance vectors: small .tadm files with their expected header (JSON) and pixels (.npy).

    python -m tools.formats.make_vectors formats/vectors

Deterministic: fixed seeds, fixed metadata. Committed vectors are never regenerated in place by
tests; every later reader version must still read them as their JSON says. Names without a version
prefix are format version 1 files; `v2-*` are version 2.
"""

from __future__ import annotations

import argparse
import io
import json
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tadmcodec_formats.chunks import MAGIC, PREAMBLE_SIZE, encode_chunk
from tadmcodec_formats.header import ColourSpace, ColourType, Header, LRCodec
from tadmcodec_formats.metadata import Metadata
from tadmcodec_formats.patches import PatchGrid, patch_count
from tadmcodec_formats.reader import TadmReader
from tadmcodec_formats.writer import write_tadm

MODEL_SHA = bytes(range(32))
END_MARKER_SIZE = 12


def _image(seed: int, header: Header) -> tuple[np.ndarray, np.ndarray | None, PatchGrid]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: header.lr_height, : header.lr_width]
    base = (xx * 7 + yy * 3)[..., None] + np.arange(header.lr_channels) * 40
    lr = ((base + rng.integers(0, 12, base.shape)) % 256).astype(np.uint8)
    alpha = None
    if header.colour_type.has_alpha:
        ay, ax = np.mgrid[: header.height, : header.width]
        alpha = np.clip(ax * 255 // max(1, header.width - 1) + (ay % 5) * 3, 0, 255).astype(np.uint8)
    patch, overlap = 16, 4
    lw, lh = header.latent_size
    steps = rng.integers(0, 1000, (patch_count(lh, patch, overlap), patch_count(lw, patch, overlap)))
    return lr, alpha, PatchGrid(patch, overlap, steps)


def _header(width: int, height: int, scale: int, colour: ColourType, **extra: object) -> Header:
    return Header(
        width=width,
        height=height,
        scale=scale,
        colour_type=colour,
        model_id="conformance-v1",
        model_sha256=MODEL_SHA,
        **extra,
    )


METADATA = Metadata(
    exif=b"MM\x00*\x00\x00\x00\x08\x00\x00",
    icc_profile=b"not-a-real-icc-profile",
    xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>',
    text={"Title": "conformance", "Note": "\u00e9t\u00e9"},
)

ZSTD = {"lr_codec": LRCodec.ZSTD_PREDICTIVE}
# name: (format version, header, metadata)
VALID = {
    "gray-1x1": (1, _header(1, 1, 16, ColourType.GRAY, **ZSTD), None),
    "rgb-37x23-s16": (1, _header(37, 23, 16, ColourType.RGB, **ZSTD), None),
    "rgb-600x300-s32-tiled": (1, _header(600, 300, 32, ColourType.RGB, tile_width=8, tile_height=8, **ZSTD), None),
    "rgba-70x45-s16-metadata": (
        1,
        _header(70, 45, 16, ColourType.RGBA, colour_space=ColourSpace.ICC, **ZSTD),
        METADATA,
    ),
    "la-300x20-s32-raw": (1, _header(300, 20, 32, ColourType.GRAY_ALPHA, lr_codec=LRCodec.RAW), None),
    "v2-gray-1x1": (2, _header(1, 1, 16, ColourType.GRAY), None),
    "v2-rgb-37x23-s16": (2, _header(37, 23, 16, ColourType.RGB), None),
    "v2-rgb-600x300-s32-tiled": (2, _header(600, 300, 32, ColourType.RGB, tile_width=8, tile_height=8), None),
    "v2-rgba-70x45-s16-metadata": (
        2,
        _header(70, 45, 16, ColourType.RGBA, colour_space=ColourSpace.ICC),
        METADATA,
    ),
    "v2-la-300x20-s32-tiled": (2, _header(300, 20, 32, ColourType.GRAY_ALPHA, tile_width=8, tile_height=8), None),
}


def _insert_before_end(data: bytes, chunk: bytes) -> bytes:
    return data[:-END_MARKER_SIZE] + chunk + data[-END_MARKER_SIZE:]


def _insert_after_header(data: bytes, chunk: bytes) -> bytes:
    (length,) = struct.unpack_from(">I", data, PREAMBLE_SIZE)
    end = PREAMBLE_SIZE + 12 + length
    return data[:end] + chunk + data[end:]


def _retag_first_tile(data: bytes, codec: int) -> bytes:
    """A one-tile version 2 file whose tile names another codec, its CRC made right again."""
    (length,) = struct.unpack_from(">I", data, PREAMBLE_SIZE)
    tile = PREAMBLE_SIZE + 12 + length
    (size,) = struct.unpack_from(">I", data, tile)
    out = bytearray(data)
    out[tile + 8] = codec
    out[tile + 8 + size : tile + 12 + size] = struct.pack(">I", zlib.crc32(bytes(out[tile + 4 : tile + 8 + size])))
    return bytes(out)


def _flip_header_byte(data: bytes) -> bytes:
    out = bytearray(data)
    out[len(MAGIC) + 3 + 8] ^= 0x01  # first byte of the THDR payload (width), CRC now wrong
    return bytes(out)


MUTANTS: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "unknown-ancillary": ("", lambda d: _insert_before_end(d, encode_chunk(b"zZzz", b"skip me"))),
    "bad-crc": ("ChecksumError", _flip_header_byte),
    "truncated": ("TruncatedFileError", lambda d: d[: len(d) // 2]),
    "unknown-critical": ("UnsupportedFeatureError", lambda d: _insert_before_end(d, encode_chunk(b"QQQQ", b""))),
    "version-3": ("UnsupportedVersionError", lambda d: d[: len(MAGIC)] + b"\x03" + d[len(MAGIC) + 1 :]),
    "crlf-converted": ("CorruptFileError", lambda d: d.replace(b"\r\n", b"\n", 1)),
    "trailing-data": ("CorruptFileError", lambda d: d + b"\0garbage"),
}
# Damaged copies of v2-rgb-37x23-s16 (version 2 has no end marker: what follows the last chunk is damage).
MUTANTS_V2: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "unknown-ancillary": ("", lambda d: _insert_after_header(d, encode_chunk(b"zZzz", b"skip me"))),
    "unknown-critical": ("UnsupportedFeatureError", lambda d: _insert_after_header(d, encode_chunk(b"QQQQ", b""))),
    "unknown-tile-codec": ("UnsupportedFeatureError", lambda d: _retag_first_tile(d, 7)),
    "bad-crc": ("ChecksumError", _flip_header_byte),
    "truncated": ("TruncatedFileError", lambda d: d[: len(d) // 2]),
    "cut-before-patch-grid": ("TruncatedFileError", lambda d: d[: d.rindex(b"PTCH") - 4]),
    "trailing-data": ("CorruptFileError", lambda d: d + b"\0garbage"),
    "ancillary-after-last-chunk": ("CorruptFileError", lambda d: d + encode_chunk(b"zZzz", b"late")),
}


def build(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for seed, (name, (version, header, metadata)) in enumerate(VALID.items()):
        lr, alpha, grid = _image(seed % 5, header)
        buffer = io.BytesIO()
        write_tadm(buffer, header, lr, grid, alpha, metadata, version=version)
        (folder / f"{name}.tadm").write_bytes(buffer.getvalue())
        np.save(folder / f"{name}.lr.npy", lr, allow_pickle=False)
        if alpha is not None:
            np.save(folder / f"{name}.alpha.npy", alpha, allow_pickle=False)
        with TadmReader(buffer.getvalue()) as reader:
            meta = reader.metadata
            expected = {
                **reader.describe(),
                "timesteps": grid.timesteps.tolist(),
                "expected_error": None,
                "metadata_hex": {
                    "exif": (meta.exif or b"").hex(),
                    "icc_profile": (meta.icc_profile or b"").hex(),
                    "xmp": (meta.xmp or b"").hex(),
                },
            }
        _write_json(folder / f"{name}.json", expected)
    for base_name, mutants, prefix in (
        ("rgb-37x23-s16", MUTANTS, "mutant-"),
        ("v2-rgb-37x23-s16", MUTANTS_V2, "v2-mutant-"),
    ):
        base = (folder / f"{base_name}.tadm").read_bytes()
        for name, (error, mutate) in mutants.items():
            (folder / f"{prefix}{name}.tadm").write_bytes(mutate(base))
            _write_json(folder / f"{prefix}{name}.json", {"base": base_name, "expected_error": error or None})


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    build(parser.parse_args().folder)


if __name__ == "__main__":
    main()

"""Format version 2's structure: a one-tile file spends at most 100 bytes besides its pixels (issue 33),
and less than version 1 did, on the header, patch grid and framing of a typical photograph's file."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest

from tadmcodec_formats import ColourType, Header, LRCodec, PatchGrid, write_tadm

# What the default 16x model writes for a 768 x 512 photograph: its id, a 3 x 4 patch grid of 32
# latent pixels with overlap 4, and timesteps from the range it uses.
HEADER = Header(
    width=768,
    height=512,
    scale=16,
    colour_type=ColourType.RGB,
    model_id="default-16x-r12",
    model_sha256=bytes(range(32)),
    lr_codec=LRCodec.ZSTD_PREDICTIVE,
)
STEPS = np.array([[27, 37, 10, 10], [34, 65, 32, 18], [35, 66, 31, 21]])


def structure_bytes(data: bytes) -> int:
    """Everything but the tiles' coded pixels (a tile chunk's payload less its codec byte or tile number)."""
    offset, pixels = 12, 0
    while offset < len(data):
        length, kind = struct.unpack_from(">I4s", data, offset)
        if kind in (b"LRTL", b"ALTL"):
            pixels += length - (1 if data[9] == 2 else 4)
        offset += 12 + length
    return len(data) - pixels


def encoded(version: int) -> bytes:
    lr = np.random.default_rng(0).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    write_tadm(buffer, HEADER, lr, PatchGrid(32, 4, STEPS), version=version)
    return buffer.getvalue()


@pytest.mark.parametrize(("version", "at_most"), [(1, 200), (2, 100)])
def test_structure_of_a_one_tile_file(version: int, at_most: int) -> None:
    data = encoded(version)
    assert data[9] == version
    assert structure_bytes(data) <= at_most


def test_version_2_saves_on_every_file() -> None:
    assert structure_bytes(encoded(1)) - structure_bytes(encoded(2)) >= 80

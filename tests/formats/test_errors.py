"""Limits, bad fields and misuse raise the library's own exceptions with a location; writes are atomic."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from tadmcodec_formats import (
    ChecksumError,
    ColourSpace,
    ColourType,
    CorruptFileError,
    Header,
    LimitExceededError,
    LRCodec,
    PatchGrid,
    TadmError,
    TadmReader,
    TadmWriter,
    TruncatedFileError,
    UnsupportedFeatureError,
    read_tadm,
    write_tadm,
)
from tadmcodec_formats.chunks import MAGIC
from tadmcodec_formats.lrcodec import decode_tile, encode_tile
from tests.containers import random_container as make_container

THDR_PAYLOAD = len(MAGIC) + 3 + 8


def _with_header_field(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    """Rewrite one THDR field and fix the CRC, so only the field's meaning is wrong."""
    out = bytearray(data)
    struct.pack_into(fmt, out, THDR_PAYLOAD + offset, value)
    (length,) = struct.unpack_from(">I", out, THDR_PAYLOAD - 8)
    crc = zlib.crc32(bytes(out[THDR_PAYLOAD - 4 : THDR_PAYLOAD + length]))
    struct.pack_into(">I", out, THDR_PAYLOAD + length, crc)
    return bytes(out)


@pytest.mark.parametrize(
    ("offset", "fmt", "value", "error"),
    [
        (0, ">I", 0, LimitExceededError),
        (0, ">I", 2**32 - 1, LimitExceededError),
        (4, ">I", (1 << 22) + 1, LimitExceededError),
        (8, ">B", 8, UnsupportedFeatureError),
        (9, ">B", 3, UnsupportedFeatureError),
        (10, ">B", 16, UnsupportedFeatureError),
        (12, ">H", 4, LimitExceededError),
        (16, ">B", 9, UnsupportedFeatureError),
    ],
)
def test_version_1_header_fields_out_of_range(offset: int, fmt: str, value: int, error: type) -> None:
    data, _ = make_container(version=1, lr_codec=LRCodec.ZSTD_PREDICTIVE)
    with pytest.raises(error, match="THDR at offset 12"):
        TadmReader(_with_header_field(data, offset, fmt, value))


MODEL = b"\x00" * 8 + b"\x01m"  # the hash prefix, the id length and the id


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (b"\x00\x01" + b"\x10\x02\x08\x00" + b"\x80\x02\x80\x02" + MODEL, LimitExceededError),  # width 0
        (b"\x81\x80\x80\x02\x01" + b"\x10\x02\x08\x00" + b"\x80\x02\x80\x02" + MODEL, LimitExceededError),
        (b"\x80\x06\x01" + b"\x08\x02\x08\x00" + b"\x80\x02\x80\x02" + MODEL, UnsupportedFeatureError),  # scale
        (b"\x80\x06\x01" + b"\x10\x03\x08\x00" + b"\x80\x02\x80\x02" + MODEL, UnsupportedFeatureError),  # colour
        (b"\x80\x06\x01" + b"\x10\x02\x10\x00" + b"\x80\x02\x80\x02" + MODEL, UnsupportedFeatureError),  # depth
        (b"\x80\x06\x01" + b"\x10\x02\x08\x00" + b"\x04\x80\x02" + MODEL, LimitExceededError),  # tile width 4
        (b"\x80\x06\x81\x00" + b"\x10\x02\x08\x00" + b"\x80\x02\x80\x02" + MODEL, CorruptFileError),  # 1 as 2 bytes
        (b"\x80\x06\x01" + b"\x10\x02\x08\x00" + b"\x80\x02\x80", CorruptFileError),  # ends in a varint
        (b"\x80\x06\x01" + b"\x10\x02\x08\x00" + b"\x80\x02\x80\x02" + b"\x00" * 5, CorruptFileError),  # hash
    ],
)
def test_version_2_header_fields_out_of_range(payload: bytes, error: type) -> None:
    with pytest.raises(error, match="THDR at offset 12"):
        Header.from_bytes(payload, 12, 2)


def test_version_2_header_reads_its_fields() -> None:
    payload = b"\x80\x06\x01" + b"\x10\x06\x08\x01" + b"\x80\x02\x08" + bytes(range(8)) + b"\x02id"
    header = Header.from_bytes(payload, 12, 2)
    assert (header.width, header.height, header.scale, header.colour_type, header.colour_space) == (
        768,
        1,
        16,
        ColourType.RGBA,
        ColourSpace.ICC,
    )
    assert (header.tile_width, header.tile_height, header.model_sha256, header.model_id) == (
        256,
        8,
        bytes(range(8)),
        "id",
    )
    assert header.lr_codec == LRCodec.PER_TILE and header.to_bytes(2) == payload


def test_huge_declared_dimensions_refused_before_allocating() -> None:
    with pytest.raises(LimitExceededError):
        Header(width=10**9, height=10, scale=16, colour_type=ColourType.RGB, model_id="m", model_sha256=bytes(32))


@pytest.mark.parametrize("version", [1, 2])
def test_chunk_length_beyond_file_is_truncation(version: int) -> None:
    data, _ = make_container(version=version, lr_codec=LRCodec.ZSTD_PREDICTIVE)
    out = bytearray(data)
    struct.pack_into(">I", out, THDR_PAYLOAD - 8, 2**31 - 2)
    with pytest.raises(TruncatedFileError, match="THDR at offset 12"):
        TadmReader(bytes(out))


def test_crc_error_names_chunk_and_offset() -> None:
    data, _ = make_container()
    out = bytearray(data)
    out[-20] ^= 0xFF
    with pytest.raises(ChecksumError, match=r"chunk \w{4} at offset \d+"):
        read_tadm(bytes(out))


def test_zstd_frame_declaring_more_than_the_tile_is_refused() -> None:
    tile = np.zeros((4, 4, 3), np.uint8)
    payload = encode_tile(np.zeros((8, 8, 3), np.uint8), LRCodec.ZSTD_PREDICTIVE)
    with pytest.raises(CorruptFileError, match="declares 192 bytes, expected 48"):
        decode_tile(payload, tile.shape, LRCodec.ZSTD_PREDICTIVE, "tile 0")


def test_zstd_frame_with_trailing_bytes_is_refused() -> None:
    payload = encode_tile(np.zeros((4, 4, 3), np.uint8), LRCodec.ZSTD_PREDICTIVE)
    with pytest.raises(CorruptFileError):
        decode_tile(payload + b"\0", (4, 4, 3), LRCodec.ZSTD_PREDICTIVE, "tile 0")


def test_not_a_tadm_file() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(20)
    with pytest.raises(CorruptFileError, match="signature"):
        TadmReader(png)
    with pytest.raises(TruncatedFileError):
        TadmReader(MAGIC[:5])
    with pytest.raises(TadmError):
        TadmReader(b"")


def test_box_outside_image() -> None:
    data, _ = make_container()
    with TadmReader(data) as reader, pytest.raises(TadmError, match="outside"):
        reader.read_lr((0, 0, 1000, 5))


def test_writer_refuses_wrong_tile_shape_and_incomplete_files(tmp_path: Path) -> None:
    header = Header(width=64, height=64, scale=16, colour_type=ColourType.RGB, model_id="m", model_sha256=bytes(32))
    with pytest.raises(TadmError, match="shape"):
        TadmWriter(io.BytesIO(), header).write_lr_tile(np.zeros((3, 4, 3), np.uint8))
    target = tmp_path / "out.tadm"
    writer = TadmWriter(target, header)
    writer.write_lr_tile(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(TadmError, match="incomplete"):
        writer.close()
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_existing_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "out.tadm"
    target.write_bytes(b"previous")
    header = Header(width=64, height=64, scale=16, colour_type=ColourType.RGB, model_id="m", model_sha256=bytes(32))
    bad_grid = PatchGrid(8, 0, np.zeros((3, 3)))  # the 8x8 latent needs a 1x1 grid
    with pytest.raises(CorruptFileError, match="PTCH grid"):
        write_tadm(target, header, np.zeros((4, 4, 3), np.uint8), bad_grid)
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.tadm"]


def test_version_1_needs_the_full_model_hash() -> None:
    header = Header(width=64, height=64, scale=16, colour_type=ColourType.RGB, model_id="m", model_sha256=bytes(8))
    with pytest.raises(UnsupportedFeatureError, match="full SHA-256"):
        TadmWriter(io.BytesIO(), header, version=1)


def test_successful_write_replaces_target(tmp_path: Path) -> None:
    data, content = make_container()
    target = tmp_path / "out.tadm"
    target.write_bytes(b"previous")
    write_tadm(target, content["header"], content["lr"], content["patches"])
    assert target.read_bytes() == data

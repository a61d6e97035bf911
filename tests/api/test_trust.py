"""Trust boundaries and correct refusals: names never paths, damaged weights, hostile but CRC-valid
values, incomplete files, sizes, bit depths, and Pillow's error convention."""

from __future__ import annotations

import io
import struct
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

import tadmcodec
from tadmcodec.errors import InputImageError, MissingWeightsError, TadmError
from tadmcodec_formats import CorruptFileError, LimitExceededError, PatchGrid, TruncatedFileError
from tadmcodec_formats.chunks import encode_chunk

pytestmark = pytest.mark.usefixtures("registered_models")
PREAMBLE = 12


def chunks(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """(offset, type, payload) of every chunk."""
    found, offset = [], PREAMBLE
    while offset < len(data):
        length, kind = struct.unpack_from(">I4s", data, offset)
        found.append((offset, kind, data[offset + 8 : offset + 8 + length]))
        offset += 12 + length
    return found


def replace_chunk(data: bytes, kind: bytes, payload: bytes) -> bytes:
    """The file with the first chunk of `kind` given a new payload and a valid CRC (offsets after it
    move, so only chunks after the last indexed tile may change length)."""
    offset, _, old = next(c for c in chunks(data) if c[1] == kind)
    return data[:offset] + encode_chunk(kind, payload) + data[offset + 12 + len(old) :]


@pytest.fixture
def encoded() -> bytes:
    buffer = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    tadmcodec.encode(pixels, buffer, model="test-16x")
    return buffer.getvalue()


def test_a_model_id_is_a_name_never_a_path(encoded: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    header = next(c for c in chunks(encoded) if c[1] == b"THDR")[2]
    length_at = len(header) - len(b"test-16x") - 1  # the header ends with the id's length and the id
    crafted = replace_chunk(encoded, b"THDR", header[:length_at] + bytes([2]) + b"..")
    with pytest.raises(CorruptFileError, match="model"):
        tadmcodec.decode(crafted)
    (tmp_path / "test-16x").mkdir()  # a folder in the working directory never shadows the installed model
    (tmp_path / "test-16x" / "config.json").write_text('{"_class_name": "TADMModel"}')
    monkeypatch.chdir(tmp_path)
    assert tadmcodec.decode(encoded).size == (56, 40)


def test_a_damaged_weight_file_is_one_line_naming_it(registered_models: Path, tmp_path: Path) -> None:
    import shutil

    from tadmcodec.runtime.model_loader import load_model_folder

    shutil.copytree(registered_models, tmp_path / "models")
    lora = tmp_path / "models" / "test-16x" / "lora.safetensors"
    lora.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(MissingWeightsError, match=r"lora\.safetensors") as raised:
        load_model_folder(tmp_path / "models" / "test-16x")
    assert "\n" not in str(raised.value)


def test_a_patch_grid_the_model_did_not_write_is_refused_before_it_runs(encoded: bytes) -> None:
    crafted = replace_chunk(encoded, b"PTCH", PatchGrid(8, 2, np.array([[50]])).to_bytes(2))
    with pytest.raises(CorruptFileError, match="patch size 8 / overlap 2: model 'test-16x' uses 16 / 4"):
        tadmcodec.decode(crafted)


@pytest.mark.parametrize("damage", ["junk after the end", "last chunk cut short"])
def test_decoding_refuses_what_verify_refuses_but_the_thumbnail_stays(encoded: bytes, damage: str) -> None:
    damaged = encoded + b"JUNKJUNK" if damage == "junk after the end" else encoded[:-12]
    with tadmcodec.open(damaged) as opened:
        assert opened.thumbnail().size == (4, 3)  # the prefix is intact
        with pytest.raises((CorruptFileError, TruncatedFileError)):
            opened.decode()


def test_in_memory_decodes_have_a_size_limit(encoded: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 2 x 1000 < 56 x 40
    with pytest.raises(LimitExceededError, match=r"--box.*\.tif"):
        tadmcodec.decode(encoded)
    assert tadmcodec.decode(encoded, box=(0, 0, 40, 40)).size == (40, 40)
    assert tadmcodec.decode_to_file(encoded, tmp_path / "streamed.tif") > 0


def test_sixteen_bit_rgb_png_is_refused(tmp_path: Path) -> None:
    rows = np.random.default_rng(1).integers(0, 65535, (8, 8, 3)).astype(">u2")
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + rows[y].tobytes() for y in range(8))
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 16, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    (tmp_path / "deep.png").write_bytes(png)
    with pytest.raises(InputImageError, match="16 bits"):
        tadmcodec.encode(tmp_path / "deep.png", tmp_path / "deep.tadm", model="test-16x")
    assert not (tmp_path / "deep.tadm").exists()


def test_damaged_files_raise_oserror_through_pillow(encoded: bytes) -> None:
    for damaged in (encoded[:60], encoded[:20] + bytes([encoded[20] ^ 1]) + encoded[21:]):
        with pytest.raises(OSError) as raised, Image.open(io.BytesIO(damaged)) as image:
            image.load()
        assert isinstance(raised.value, TadmError) or "cannot identify" in str(raised.value)


def test_input_size_policy_is_pillows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above MAX_IMAGE_PIXELS: one warning of our own, then the encode; above twice that: refused."""
    from tadmcodec.errors import LargeImageWarning

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    pixels = np.random.default_rng(2).integers(0, 256, (30, 40, 3), dtype=np.uint8)  # 1200 pixels
    Image.fromarray(pixels).save(tmp_path / "large.png")
    with pytest.warns(LargeImageWarning, match=r"40 x 30.*MAX_IMAGE_PIXELS"):
        tadmcodec.encode(tmp_path / "large.png", tmp_path / "large.tadm", model="test-16x")
    Image.fromarray(np.zeros((50, 50, 3), np.uint8)).save(tmp_path / "bomb.png")  # 2500 > 2 x 1000
    with pytest.raises(InputImageError, match="decompression bomb"):
        tadmcodec.encode(tmp_path / "bomb.png", tmp_path / "bomb.tadm", model="test-16x")
    assert not (tmp_path / "bomb.tadm").exists()


def test_the_scale_must_be_an_integer(tmp_path: Path) -> None:
    source = Image.fromarray(np.zeros((20, 20, 3), np.uint8))
    with pytest.raises(InputImageError, match=r"integer 16 or 32, got '16'"):
        source.save(tmp_path / "x.tadm", scale="16", model="test-16x")


def _claiming(data: bytes, model: str) -> bytes:
    """A CRC-valid file whose header names another installed model (with its true digest) and whose patch
    grid is shaped for the file's own LR at the named model's patch size: what verify's structure allows."""
    import dataclasses

    from tadmcodec.store.folder import model_digest
    from tadmcodec.store.registry import resolve_model
    from tadmcodec_formats import Metadata, TadmReader, TadmWriter, latent_size_of, patch_count

    reader = TadmReader(data)
    folder = resolve_model(model)
    header = dataclasses.replace(reader.header, model_id=model, model_sha256=model_digest(folder))
    width, height = latent_size_of(header.lr_width, header.lr_height, header.scale)
    grid = PatchGrid(16, 4, np.full((patch_count(height, 16, 4), patch_count(width, 16, 4)), 50))
    out = io.BytesIO()
    with TadmWriter(out, header, Metadata()) as writer:
        writer.write_image(reader.read_lr(), grid, None)
    return out.getvalue()


def test_a_header_that_names_a_model_of_another_scale_is_refused_everywhere(tmp_path: Path) -> None:
    from tadmcodec.cli import main

    buffer = io.BytesIO()
    tadmcodec.encode(np.zeros((96, 160, 3), np.uint8), buffer, model="test-32x", scale=32)
    crafted = _claiming(buffer.getvalue(), "test-16x")
    with pytest.raises(CorruptFileError, match="32x but names model 'test-16x', which is 16x"):
        tadmcodec.decode(crafted)
    with pytest.raises(OSError, match="which is 16x"):
        Image.open(io.BytesIO(crafted)).load()
    path = tmp_path / "crafted.tadm"
    path.write_bytes(crafted)
    assert main(["verify", str(path)]) == 1
    assert main(["decode", str(path), str(tmp_path / "out.png")]) == 1
    assert not (tmp_path / "out.png").exists()


def test_a_grid_of_another_timestep_range_or_shape_is_refused_before_a_model_runs(encoded: bytes) -> None:
    from tadmcodec.pipeline.image_decoder import check_grid
    from tadmcodec.runtime.decoders import check_against_model
    from tadmcodec.store.folder import read_config
    from tadmcodec.store.registry import resolve_model
    from tadmcodec_formats import TadmReader

    reader = TadmReader(encoded)
    grid = reader.read_patches()
    check_against_model(reader.header, grid)  # the model's own file passes
    config = read_config(resolve_model("test-16x"))
    lr_size = (reader.header.lr_width, reader.header.lr_height)
    fewer_steps = SimpleNamespace(**(vars(config) | {"num_timesteps": 100}))  # the format allows up to 999
    late = PatchGrid(grid.patch_size, grid.overlap, np.full(grid.timesteps.shape, 100))
    with pytest.raises(CorruptFileError, match="timestep 100 is beyond model 'test-16x'"):
        check_grid(fewer_steps, "test-16x", lr_size, late)
    wide = PatchGrid(grid.patch_size, grid.overlap, np.zeros((grid.rows, grid.cols + 1)))
    with pytest.raises(CorruptFileError, match=f"grid {grid.rows}x{grid.cols + 1} does not fit"):
        check_grid(config, "test-16x", lr_size, wide)

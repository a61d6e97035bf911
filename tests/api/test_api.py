"""The Python API: inputs of every common mode, alpha, orientation, metadata, regions, model errors."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

import tadmcodec
from tadmcodec.errors import InputImageError, TadmError, UnknownModelError
from tadmcodec_formats import TadmReader

pytestmark = pytest.mark.usefixtures("registered_models")


def photo(width: int = 70, height: int = 50, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width]
    base = np.stack([xx * 3, yy * 4, (xx + yy) * 2], -1) + rng.normal(0, 12, (height, width, 3))
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))


def round_trip(image: Image.Image | np.ndarray, **options: object) -> tuple[Image.Image, tadmcodec.EncodeResult]:
    buffer = io.BytesIO()
    result = tadmcodec.encode(image, buffer, model=options.pop("model", "test-16x"), **options)
    return tadmcodec.decode(buffer.getvalue()), result


@pytest.mark.parametrize(
    ("mode", "stored", "equivalent"),
    [
        ("RGB", "RGB", "RGB"),
        ("L", "L", "RGB"),
        ("1", "L", "RGB"),
        ("LA", "LA", "RGBA"),
        ("RGBA", "RGBA", "RGBA"),
        ("CMYK", "RGB", "RGB"),
        ("P", "RGB", "RGB"),
        ("PA", "RGBA", "RGBA"),
        ("YCbCr", "RGB", "RGB"),
    ],
)
def test_modes(mode: str, stored: str, equivalent: str) -> None:
    """Each mode decodes in its stored mode, with the pixels of the same image given as `equivalent`:
    gray images are the gray of that decode, alpha comes back bit for bit."""
    source = photo().convert("RGBA" if mode in ("LA", "RGBA", "PA") else "RGB").convert(mode)
    decoded, result = round_trip(source)
    assert decoded.mode == stored and decoded.size == source.size == (result.width, result.height)
    reference, _ = round_trip(source.convert(equivalent))
    assert np.array_equal(np.asarray(decoded), np.asarray(reference.convert(stored)))
    if "A" in stored:
        assert np.array_equal(np.asarray(decoded.getchannel("A")), np.asarray(source.convert("RGBA").getchannel("A")))


def test_palette_with_transparency_keeps_alpha() -> None:
    source = photo().convert("P")
    source.info["transparency"] = 0
    decoded, _ = round_trip(source)
    assert decoded.mode == "RGBA"
    assert np.array_equal(np.asarray(decoded)[..., 3], np.asarray(source.convert("RGBA"))[..., 3])


def test_alpha_is_lossless_and_thumbnail_has_averaged_alpha() -> None:
    rgba = photo(90, 60).convert("RGBA")
    alpha = (np.random.default_rng(1).random((60, 90)) * 255).astype(np.uint8)
    rgba.putalpha(Image.fromarray(alpha))
    buffer = io.BytesIO()
    tadmcodec.encode(rgba, buffer, model="test-16x")
    assert np.array_equal(np.asarray(tadmcodec.decode(buffer.getvalue()))[..., 3], alpha)
    thumbnail = tadmcodec.read_thumbnail(buffer.getvalue())
    assert thumbnail.mode == "RGBA" and thumbnail.size == (6, 4)
    assert abs(int(np.asarray(thumbnail)[0, 0, 3]) - int(alpha[:16, :16].mean().round())) <= 1


@pytest.mark.parametrize("mode", ["I;16", "I", "F"])
def test_high_bit_depth_is_refused(mode: str) -> None:
    with pytest.raises(InputImageError, match="8 bits"):
        tadmcodec.encode(Image.new(mode, (20, 20)), io.BytesIO(), model="test-16x")


def test_numpy_inputs() -> None:
    gray = np.asarray(photo().convert("L"))
    assert round_trip(gray)[0].mode == "L"
    assert round_trip(np.asarray(photo()))[0].mode == "RGB"
    with pytest.raises(InputImageError):
        tadmcodec.encode(np.zeros((10, 10, 3), np.float32), io.BytesIO(), model="test-16x")


def test_exif_orientation_is_applied_and_reset() -> None:
    source = photo(80, 40)
    exif = source.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    exif[0x010F] = "TestCam"
    buffer = io.BytesIO()
    source.save(buffer, "PNG", exif=exif.tobytes())
    buffer.seek(0)
    decoded, _ = round_trip(Image.open(buffer))
    assert decoded.size == (40, 80)
    assert decoded.getexif().get(0x0112, 1) == 1 and decoded.getexif()[0x010F] == "TestCam"


def test_metadata_passthrough() -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = photo()
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010E] = "a description"
    source.save(buffer, "PNG", exif=exif.tobytes(), icc_profile=icc)
    buffer.seek(0)
    opened = Image.open(buffer)
    opened.load()
    opened.info["xmp"] = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>"
    decoded, _ = round_trip(opened)
    assert decoded.info["icc_profile"] == icc
    assert decoded.getexif()[0x010E] == "a description"
    assert decoded.info["xmp"] == opened.info["xmp"]


def test_region_decode_matches_the_full_decode(tmp_path: Path) -> None:
    path = tmp_path / "x.tadm"
    tadmcodec.encode(photo(150, 90), path, model="test-16x")
    full = tadmcodec.decode(path, as_array=True)
    region = tadmcodec.decode(path, box=(30, 20, 100, 70), as_array=True)
    assert isinstance(full, np.ndarray) and full.shape == (90, 150, 3)
    assert np.array_equal(region, full[20:70, 30:100])
    with pytest.raises(TadmError, match="outside"):
        tadmcodec.decode(path, box=(100, 0, 160, 10))


def test_open_file_object(tmp_path: Path) -> None:
    """tadmcodec.open: header, metadata and thumbnail; decode, boxes, blocks and saving agree with the
    functions; a reader passed in stays open."""
    path = tmp_path / "x.tadm"
    tadmcodec.encode(photo(150, 90), path, model="test-16x")
    full = tadmcodec.decode(path, as_array=True)
    with tadmcodec.open(path) as opened:
        assert opened.size == (150, 90) and opened.header.scale == 16 and opened.patches.rows == 1
        assert opened.thumbnail().size == (10, 6)
        assert np.array_equal(np.asarray(opened.decode()), full)
        assert np.array_equal(np.asarray(opened.decode((30, 20, 100, 70))), full[20:70, 30:100])
        for (x0, y0, x1, y1), pixels in opened.blocks(size=64):
            assert np.array_equal(pixels, full[y0:y1, x0:x1])
        assert opened.save(tmp_path / "x.png") == (tmp_path / "x.png").stat().st_size
        assert opened.timestep_map().size == (150, 90)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "x.png")), full)
    with TadmReader(path) as reader:
        tadmcodec.open(reader).close()
        assert reader.read_lr().shape == (6, 10, 3)  # still readable


def test_scale_32_and_scale_mismatch() -> None:
    assert round_trip(photo(), model="test-32x", scale=32)[0].size == (70, 50)
    with pytest.raises(InputImageError, match="rescales by 32"):
        tadmcodec.encode(photo(), io.BytesIO(), model="test-32x", scale=16)


def test_format_version_1_for_older_readers_decodes_alike() -> None:
    """Both container versions hold the same content: the same decode; version 1 takes more bytes."""
    files = {}
    for version in (1, 2):
        files[version] = io.BytesIO()
        tadmcodec.encode(photo(), files[version], model="test-16x", format_version=version)
        assert TadmReader(files[version].getvalue()).version == (version, 0)
    decoded = [np.asarray(tadmcodec.decode(files[v].getvalue())) for v in (1, 2)]
    assert np.array_equal(*decoded)
    assert len(files[1].getvalue()) > len(files[2].getvalue())
    with pytest.raises(InputImageError, match="format_version"):
        tadmcodec.encode(photo(), io.BytesIO(), model="test-16x", format_version=3)


def test_unknown_or_different_model_is_refused(tmp_path: Path, registered_models: Path) -> None:
    path = tmp_path / "x.tadm"
    copy_root = tmp_path / "models"
    shutil.copytree(registered_models / "test-16x", copy_root / "renamed-16x")
    reference = json.loads((copy_root / "renamed-16x" / "backbone.json").read_text())
    reference["path"] = str((registered_models / "tiny-backbone").resolve())
    (copy_root / "renamed-16x" / "backbone.json").write_text(json.dumps(reference))
    tadmcodec.encode(photo(), path, model=str(copy_root / "renamed-16x"))
    with pytest.raises(UnknownModelError, match="'renamed-16x', which is not installed"):
        tadmcodec.decode(path)
    config = json.loads((copy_root / "renamed-16x" / "config.json").read_text())
    shutil.copy(path, tmp_path / "other.tadm")
    (registered_models / "renamed-16x").mkdir()
    try:
        for name in ("config.json", "diffusion_pytorch_model.safetensors", "lora.safetensors", "backbone.json"):
            shutil.copy(copy_root / "renamed-16x" / name, registered_models / "renamed-16x" / name)
        config["lr_halo"] = 3
        (registered_models / "renamed-16x" / "config.json").write_text(json.dumps(config))
        with pytest.raises(UnknownModelError, match="install the model version that encoded it"):
            tadmcodec.decode(tmp_path / "other.tadm")
    finally:
        shutil.rmtree(registered_models / "renamed-16x")


def test_unreadable_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(InputImageError, match="cannot read image"):
        tadmcodec.encode(bad, tmp_path / "out.tadm", model="test-16x")
    assert not (tmp_path / "out.tadm").exists()

"""Metadata an output format cannot hold: left out of that output with one warning naming it; every other
format keeps it, and the decode is written."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

import tadmcodec
from tadmcodec.errors import MetadataDroppedWarning

pytestmark = pytest.mark.usefixtures("registered_models")


@pytest.fixture(scope="module")
def heavy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A .tadm file carrying 70 KB of EXIF and 200 KB of XMP (JPEG holds 64 KB of each)."""
    folder = tmp_path_factory.mktemp("heavy")
    exif = Image.Exif()
    exif[0x010E] = "x" * 70_000  # ImageDescription
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", "<x>" + "y" * 200_000 + "</x>")
    source = folder / "heavy.png"
    Image.fromarray(np.full((40, 56, 3), 120, np.uint8)).save(source, pnginfo=info, exif=exif.tobytes())
    target = folder / "heavy.tadm"
    tadmcodec.encode(source, target, model="test-16x")
    with tadmcodec.open(target) as opened:
        assert len(opened.metadata.exif) > 70_000 and len(opened.metadata.xmp) > 200_000
    return target


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp", ".tif"])
def test_each_output_format_keeps_what_it_can_and_says_what_it_drops(heavy: Path, tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"out{suffix}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tadmcodec.decode_to_file(heavy, target)
    dropped = [str(w.message) for w in caught if issubclass(w.category, MetadataDroppedWarning)]
    with Image.open(target) as written:
        written.load()
        assert written.size == (56, 40)
    data = target.read_bytes()  # none of these formats compresses EXIF or XMP
    kept_exif, kept_xmp = b"x" * 70_000 in data, b"y" * 200_000 in data
    assert all("\n" not in line for line in dropped)
    if suffix == ".jpg":
        assert len(dropped) == 2 and "exif of" in dropped[0] and "xmp of" in dropped[1]
        assert not kept_exif and not kept_xmp
    elif suffix == ".tif":  # the streamed pyramid writes no EXIF IFD
        assert len(dropped) == 1 and "exif of" in dropped[0] and "pyramidal TIFF" in dropped[0]
        assert not kept_exif and kept_xmp
    else:
        assert dropped == [] and kept_exif and kept_xmp


def test_the_cli_warns_in_one_line_and_writes_the_jpeg(
    heavy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tadmcodec.cli import main

    assert main(["decode", str(heavy), str(tmp_path / "out.jpg")]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(lines) == 2 and all("left out of the JPEG (at most" in line for line in lines)
    assert Image.open(tmp_path / "out.jpg").size == (56, 40)


@pytest.mark.parametrize("suffix", [".gif", ".png"])
def test_an_animation_warns_that_only_its_first_frame_is_encoded(tmp_path: Path, suffix: str) -> None:
    from tadmcodec.errors import InputWarning

    frames = [Image.fromarray(np.full((40, 48, 3), 40 * i, np.uint8)) for i in range(3)]
    source = tmp_path / f"animated{suffix}"
    frames[0].save(source, save_all=True, append_images=frames[1:])
    with pytest.warns(InputWarning, match="3 frames"):
        tadmcodec.encode(source, tmp_path / "a.tadm", model="test-16x")
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputWarning)  # a still image is no animation
        tadmcodec.encode(np.zeros((40, 48, 3), np.uint8), tmp_path / "b.tadm", model="test-16x")

"""Tiled TIFF in (read tile by tile) and pyramidal BigTIFF out (written block by block)."""

from __future__ import annotations

import io
import itertools
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

import tadmcodec
from tadmcodec.io.tiff_input import TiffRaster, open_tiff
from tadmcodec.io.tiff_output import halve

pytestmark = pytest.mark.usefixtures("registered_models")


def textured(height: int, width: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width]
    base = np.stack([xx % 97 * 2, yy % 53 * 4, (xx + yy) % 256, 255 - xx % 200][:channels], -1)
    return np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)


def write_tiled(path: Path, pixels: np.ndarray, tile: int = 64, **options: object) -> Path:
    photometric = "rgb" if pixels.shape[-1] >= 3 else "minisblack"
    extra = {"extrasamples": ("unassalpha",)} if pixels.shape[-1] in (2, 4) else {}
    data = pixels[..., 0] if pixels.shape[-1] == 1 else pixels
    tifffile.imwrite(
        path, data, tile=(tile, tile), photometric=photometric, compression="zlib", metadata=None, **extra, **options
    )
    return path


def test_tiff_raster_reads_any_box_like_the_array(tmp_path: Path) -> None:
    pixels = textured(150, 230, 4)
    opened = open_tiff(write_tiled(tmp_path / "in.tif", pixels))
    assert opened is not None
    tiff, prepared = opened
    with tiff:
        assert isinstance(prepared.rgb, TiffRaster) and prepared.size == (230, 150)
        for box in [(0, 0, 230, 150), (63, 1, 129, 65), (200, 140, 230, 150), (5, 7, 6, 8)]:
            x0, y0, x1, y1 = box
            assert np.array_equal(prepared.rgb.read(box), pixels[y0:y1, x0:x1, :3])
            assert np.array_equal(prepared.alpha.read(box), pixels[y0:y1, x0:x1, 3])


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_tiled_tiff_encodes_exactly_like_the_same_pixels_through_pillow(tmp_path: Path, channels: int) -> None:
    pixels = textured(140, 180, channels)
    icc = b"\x00\x00\x00\x10fake-icc-profile"
    tiff = write_tiled(tmp_path / "in.tif", pixels, iccprofile=icc)
    streamed, through_pillow = io.BytesIO(), io.BytesIO()
    tadmcodec.encode(tiff, streamed, model="test-16x")
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[channels]
    image = Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode)
    image.info["icc_profile"] = icc
    tadmcodec.encode(image, through_pillow, model="test-16x")
    assert streamed.getvalue() == through_pillow.getvalue()


def test_strip_tiffs_stream_and_16_bit_tiffs_are_refused(tmp_path: Path) -> None:
    pixels = textured(70, 90)
    strips = tmp_path / "strips.tif"
    tifffile.imwrite(strips, pixels, rowsperstrip=16, photometric="rgb", metadata=None)
    assert open_tiff(strips) is not None
    sixteen = tmp_path / "sixteen.tif"
    tifffile.imwrite(sixteen, pixels.astype(np.uint16) * 257, photometric="rgb", metadata=None)
    with pytest.raises(tadmcodec.TadmError, match="16-bit"):
        tadmcodec.encode(sixteen, tmp_path / "out.tadm", model="test-16x")
    assert not (tmp_path / "out.tadm").exists()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["RGB", "LA"])
def test_pyramid_tiff_holds_the_full_decode_and_reduced_levels(tmp_path: Path, mode: str) -> None:
    height, width = 601, 703  # 3 x 3 tiles of 256, odd edges; halved 3 times, then the 16x LR (44 x 38)
    source = Image.fromarray(textured(height, width, 3)).convert(mode)
    source.info["xmp"] = b"<x:xmpmeta>pyramid</x:xmpmeta>"
    encoded = tmp_path / "in.tadm"
    tadmcodec.encode(source, encoded, model="test-16x")
    expected = np.asarray(tadmcodec.decode(encoded))
    written = tadmcodec.decode_to_file(encoded, tmp_path / "out.tif", tile=256)
    assert written == (tmp_path / "out.tif").stat().st_size
    with tifffile.TiffFile(tmp_path / "out.tif") as tiff:
        page = tiff.pages.first
        assert tiff.is_bigtiff and page.is_tiled and (page.tilewidth, page.tilelength) == (256, 256)
        assert page.tags.valueof(700) == source.info["xmp"]
        levels = [level.asarray() for level in tiff.series[0].levels]
    full = levels[0]
    assert np.array_equal(full.reshape(expected.shape), expected)
    assert [level.shape[:2] for level in levels] == [(601, 703), (301, 352), (151, 176), (76, 88), (38, 44)]
    decoded_levels = [level.reshape(*level.shape[:2], -1) for level in levels[:4]]  # then the LR's
    for above, level in itertools.pairwise(decoded_levels):
        assert np.array_equal(level, halve(above))
    thumbnail = np.asarray(tadmcodec.read_thumbnail(encoded))
    assert np.array_equal(levels[-1].reshape(thumbnail.shape), thumbnail)


@pytest.mark.slow
def test_region_to_tiff_matches_the_region_decode_and_bad_tiles_are_refused(tmp_path: Path) -> None:
    encoded = tmp_path / "in.tadm"
    tadmcodec.encode(Image.fromarray(textured(300, 700)), encoded, model="test-16x")
    box = (37, 20, 637, 270)
    tadmcodec.decode_to_file(encoded, tmp_path / "region.tiff", box=box)
    expected = tadmcodec.decode(encoded, box=box, as_array=True)
    assert np.array_equal(tifffile.imread(tmp_path / "region.tiff", level=0), expected)
    with pytest.raises(tadmcodec.TadmError, match="multiple of 16"):
        tadmcodec.decode_to_file(encoded, tmp_path / "odd.tiff", box=box, tile=100)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tadm", "region.tiff"]


def _default_sigint() -> None:
    """Ctrl-C as in a terminal, even when the tests run in a background job (which ignores SIGINT, and a
    child would inherit that: Python installs KeyboardInterrupt only where SIGINT is not ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_during_a_decode_leaves_no_output(tmp_path: Path) -> None:
    """SIGINT while a PNG decode runs, or after a BigTIFF's first tile is written: no file, no temporaries."""
    encoded = tmp_path / "in.tadm"
    tadmcodec.encode(Image.fromarray(textured(64, 600)), encoded, model="test-16x")
    script = (
        "import sys, time\n"
        "from tadmcodec.pipeline import patch_renderer as d\n"
        "blocks = d.PatchRenderer.blocks\n"
        "def pause():\n"
        "    print('started', flush=True); time.sleep(60)\n"
        "def slow_blocks(self, *args, **kwargs):\n"
        "    for item in blocks(self, *args, **kwargs):\n"
        "        yield item; pause()\n"
        "d.PatchRenderer.blocks = slow_blocks\n"
        "d.PatchRenderer.decode = lambda *args, **kwargs: pause()\n"
        "from tadmcodec.cli import main\n"
        "sys.exit(main(['decode', sys.argv[1], sys.argv[2]]))\n"
    )
    for output in ("out.png", "out.tif"):
        process = subprocess.Popen(
            [sys.executable, "-c", script, str(encoded), str(tmp_path / output)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_default_sigint,
        )
        assert process.stdout.readline().strip() == "started", process.communicate()[1]
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 130 and "interrupted" in stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tadm"]

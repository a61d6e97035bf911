"""The ultra-high-resolution benchmark's inputs: sizes and synthetic tiled TIFFs (its figures are in
the README; a run takes minutes, so it is a tool, not a test)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
import tifffile

from tadmcodec.evaluation.large_images import TILE, make_tiff, parse_size


def test_sizes_are_megapixels_or_width_by_height() -> None:
    assert parse_size("25") == (4992, 4992)
    assert parse_size("31616x2048") == (31616, 2048)
    for bad in ("big", "10x", "8x8"):
        with pytest.raises(argparse.ArgumentTypeError, match=bad):
            parse_size(bad)


def test_synthetic_input_is_a_tiled_bigtiff_of_the_size_asked(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    make_tiff(tmp_path / "in.tif", TILE + 100, 70, [photo])
    with tifffile.TiffFile(tmp_path / "in.tif") as tiff:
        page = tiff.pages[0]
        assert tiff.is_bigtiff and page.is_tiled and page.shape == (70, TILE + 100, 3)
        pixels = page.asarray()
    assert set(np.unique(pixels)) <= set(np.unique(photo)), "pixels come from the photos"
    assert pixels.std() > 10

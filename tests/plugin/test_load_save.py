"""load() runs the full decode; save() encodes through the codec; metadata reaches info."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tadmcodec


def test_load_equals_the_api_decode(encoded: dict[str, Path]) -> None:
    with Image.open(encoded["rgb"]) as image:
        image.load()
        assert image.size == (120, 80)
        assert np.array_equal(np.asarray(image), np.asarray(tadmcodec.decode(encoded["rgb"])))


def test_metadata_in_info(encoded: dict[str, Path]) -> None:
    with Image.open(encoded["gray"]) as image:
        assert image.getexif()[0x010F] == "cam-gray"


@pytest.mark.usefixtures("registered_models")
@pytest.mark.parametrize("how", ["extension", "format"])
def test_save(tmp_path: Path, how: str) -> None:
    source = Image.fromarray(np.random.default_rng(3).integers(0, 256, (40, 70, 3), dtype=np.uint8))
    target = tmp_path / ("out.tadm" if how == "extension" else "out.bin")
    options = {"scale": 32, "model": "test-32x"}
    if how == "extension":
        source.save(target, **options)
    else:
        source.save(target, format="TADM", **options)
    with Image.open(target) as image:
        assert image.format == "TADM" and image.size == (70, 40) and image.info["tadm_scale"] == 32

"""Files encoded once with the test model for the plugin tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tadmcodec


@pytest.fixture(scope="session")
def encoded(registered_models: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("plugin")
    rng = np.random.default_rng(0)
    files = {}
    for name, size, mode in (("rgb", (120, 80), "RGB"), ("rgba", (96, 64), "RGBA"), ("gray", (64, 100), "L")):
        pixels = rng.integers(0, 256, (size[1], size[0], len(mode)), dtype=np.uint8)
        image = Image.fromarray(pixels[..., 0] if mode == "L" else pixels, mode)
        exif = Image.Exif()
        exif[0x010F] = f"cam-{name}"
        image.info["exif"] = exif.tobytes()
        files[name] = folder / f"{name}.tadm"
        tadmcodec.encode(image, files[name], model="test-16x")
    return files

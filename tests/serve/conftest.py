"""A served folder: the bundled sample enlarged to 1200 x 800 and encoded once with the default 16x model
(3 x 2 tiles of 512 at full zoom), in a subfolder, so identifiers carry an encoded slash."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

import tadmcodec

SAMPLE = Path(tadmcodec.__file__).parent / "samples" / "chelsea.png"
IDENTIFIER = "cats/chelsea"
URL_ID = "cats%2Fchelsea"


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("served")
    (root / "cats").mkdir()
    with Image.open(SAMPLE) as image:
        image.convert("RGB").resize((1200, 800), Image.Resampling.BICUBIC).save(root / "chelsea.png")
    tadmcodec.encode(root / "chelsea.png", root / "cats" / "chelsea.tadm", scale=16)
    (root / "chelsea.png").unlink()
    return root

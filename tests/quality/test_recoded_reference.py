"""Format version 2 keeps every pixel: each golden file (the shipped models' reference files and the
version 1 conformance vectors), re-coded to version 2, holds the same LR, timesteps, alpha and metadata
in fewer bytes, and the references decode to the pixels recorded at their release, bit for bit, on ONNX
Runtime (what a plain install runs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tadmcodec
import tadmcodec_formats
from tadmcodec_formats import read_tadm, recode
from tests.quality.test_decode_reference import GRAPHED, REFERENCE

VECTORS = Path(tadmcodec_formats.__file__).parent / "vectors"
# The golden files written in format 1.0: references of models released before 2.0, and the valid vectors.
GOLDEN = [
    path
    for path in sorted(REFERENCE.glob("*.tadm")) + sorted(VECTORS.glob("*.tadm"))
    if not path.name.startswith(("mutant-", "v2-")) and path.read_bytes()[9] == 1
]


@pytest.mark.parametrize("path", GOLDEN, ids=lambda path: path.stem)
def test_recoding_keeps_the_content_in_fewer_bytes(path: Path, tmp_path: Path) -> None:
    recode(path, tmp_path / "v2.tadm")
    old, new = read_tadm(path), read_tadm(tmp_path / "v2.tadm")
    assert old.version == (1, 0) and new.version == (2, 0)
    assert np.array_equal(new.lr, old.lr)
    assert new.patches == old.patches and new.metadata == old.metadata
    assert (new.alpha is None and old.alpha is None) or np.array_equal(new.alpha, old.alpha)
    assert new.header.model_id == old.header.model_id and new.header.model_sha256 == old.header.model_sha256[:8]
    assert (tmp_path / "v2.tadm").stat().st_size < path.stat().st_size


@pytest.mark.parametrize("model", GRAPHED)
def test_a_recoded_reference_decodes_to_the_recorded_pixels(model: str, tmp_path: Path) -> None:
    recode(REFERENCE / f"{model}.tadm", tmp_path / "v2.tadm")
    decoded = tadmcodec.decode(tmp_path / "v2.tadm", runtime="onnx", as_array=True)
    assert np.array_equal(decoded, np.asarray(Image.open(REFERENCE / f"{model}.onnx.png")))

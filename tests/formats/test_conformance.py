"""The committed conformance vectors read exactly as their JSON and .npy files say."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import tadmcodec_formats
from tadmcodec_formats import TadmError, TadmReader, read_tadm
from tools.formats.make_vectors import build

VECTORS = Path(tadmcodec_formats.__file__).parent / "vectors"
EXPECTATIONS = sorted(VECTORS.glob("*.json"))


def test_vectors_exist() -> None:
    assert len(list(VECTORS.glob("*.tadm"))) == len(EXPECTATIONS) >= 12


@pytest.mark.parametrize("expectation", EXPECTATIONS, ids=lambda p: p.stem)
def test_vector(expectation: Path) -> None:
    expected = json.loads(expectation.read_text(encoding="utf-8"))
    path = expectation.with_suffix(".tadm")
    if expected["expected_error"]:
        error_type = getattr(tadmcodec_formats, expected["expected_error"])
        with pytest.raises(error_type):
            read_tadm(path)
        return
    contents = read_tadm(path)
    reference = expected.get("base", expectation.stem)
    base = json.loads((VECTORS / f"{reference}.json").read_text(encoding="utf-8"))
    with TadmReader(path) as reader:
        described = reader.describe()
    assert {k: v for k, v in described.items() if k != "file_bytes"} == {
        k: v for k, v in base.items() if k not in ("file_bytes", "timesteps", "expected_error", "metadata_hex")
    }
    assert contents.patches.timesteps.tolist() == base["timesteps"]
    assert np.array_equal(contents.lr, np.load(VECTORS / f"{reference}.lr.npy", allow_pickle=False))
    alpha_file = VECTORS / f"{reference}.alpha.npy"
    if alpha_file.exists():
        assert np.array_equal(contents.alpha, np.load(alpha_file, allow_pickle=False))
    else:
        assert contents.alpha is None
    for field, hexed in base["metadata_hex"].items():
        assert (getattr(contents.metadata, field) or b"").hex() == hexed


def test_generator_is_deterministic(tmp_path: Path) -> None:
    build(tmp_path / "a")
    build(tmp_path / "b")
    for first in sorted((tmp_path / "a").iterdir()):
        assert first.read_bytes() == (tmp_path / "b" / first.name).read_bytes(), first.name


def test_regenerated_vectors_read_like_the_committed_ones(tmp_path: Path) -> None:
    """A writer change that alters content (not just compressed bytes) breaks this."""
    build(tmp_path)
    for committed in VECTORS.glob("*.tadm"):
        fresh = tmp_path / committed.name
        try:
            old = read_tadm(committed)
        except TadmError as err:
            with pytest.raises(type(err)):
                read_tadm(fresh)
            continue
        new = read_tadm(fresh)
        assert new.header == old.header and new.metadata == old.metadata and new.patches == old.patches
        assert np.array_equal(new.lr, old.lr)

"""Two threads decoding different files give the same pixels as decoding them one after the other."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image


def _decode(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        image.load()
        return np.asarray(image).copy()


def test_two_threads(encoded: dict[str, Path]) -> None:
    paths = [encoded["rgb"], encoded["gray"], encoded["rgba"], encoded["rgb"]]
    expected = [_decode(p) for p in paths]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_decode, paths))
    for got, want in zip(results, expected, strict=True):
        assert np.array_equal(got, want)

"""Every single-byte change and every truncation gives the same content or a TadmError, never another
exception or a hang, in both format versions. A larger seeded run is `python -m tools.fuzz.container`."""

from __future__ import annotations

import numpy as np
import pytest

from tadmcodec_formats import ColourType, LRCodec
from tests.conftest import make_container
from tools.fuzz.container import Outcome, classify, mutate, reference_contents

CASES = {
    "rgb": {"width": 40, "height": 20, "scale": 16, "lr_codec": LRCodec.ZSTD_PREDICTIVE},
    "gray-alpha": {"width": 40, "height": 20, "scale": 32, "colour": ColourType.GRAY_ALPHA, "lr_codec": LRCodec.RAW},
}


@pytest.fixture(scope="module", params=[(v, case) for v in (1, 2) for case in CASES], ids=lambda p: f"v{p[0]}-{p[1]}")
def small(request: pytest.FixtureRequest) -> bytes:
    version, case = request.param
    data, _ = make_container(version=version, **CASES[case])
    return data


@pytest.mark.parametrize("flip", [0x01, 0x80, 0xFF])
def test_every_single_byte_change(small: bytes, flip: int) -> None:
    reference = reference_contents(small)
    outcomes = {}
    for position in range(len(small)):
        mutated = bytearray(small)
        mutated[position] ^= flip
        outcomes[position] = classify(bytes(mutated), reference)
    assert Outcome.OTHER_EXCEPTION not in outcomes.values()
    assert Outcome.DIFFERENT_CONTENT not in outcomes.values()
    # Only the minor version (readable by design) and the reserved byte may change unnoticed.
    unnoticed = [p for p, outcome in outcomes.items() if outcome is Outcome.SAME_CONTENT]
    assert unnoticed == [10, 11]


def test_every_truncation(small: bytes) -> None:
    reference = reference_contents(small)
    for length in range(len(small)):
        assert classify(small[:length], reference) is Outcome.TADM_ERROR, length


def test_seeded_random_mutations() -> None:
    data, _ = make_container(width=90, height=70, scale=16)
    reference = reference_contents(data)
    rng = np.random.default_rng(1234)
    counts = {outcome: 0 for outcome in Outcome}
    for _ in range(3000):
        counts[classify(mutate(data, rng), reference)] += 1
    assert counts[Outcome.OTHER_EXCEPTION] == 0
    assert counts[Outcome.DIFFERENT_CONTENT] == 0
    assert counts[Outcome.TADM_ERROR] > 2500

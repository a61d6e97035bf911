"""Every single-byte change and every truncation gives the same content or a TadmError, never another
exception or a hang. A larger seeded run is `python -m tadmcodec_formats.fuzz`."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import make_container
from tools.fuzz.container import Outcome, classify, mutate, reference_contents


@pytest.fixture(scope="module")
def small() -> bytes:
    data, _ = make_container(width=40, height=20, scale=16)
    return data


@pytest.fixture(scope="module")
def small_alpha() -> bytes:
    from tadmcodec_formats import ColourType

    data, _ = make_container(width=40, height=20, scale=32, colour=ColourType.GRAY_ALPHA)
    return data


@pytest.mark.parametrize("flip", [0x01, 0x80, 0xFF])
@pytest.mark.parametrize("fixture", ["small", "small_alpha"])
def test_every_single_byte_change(fixture: str, flip: int, request: pytest.FixtureRequest) -> None:
    data = request.getfixturevalue(fixture)
    reference = reference_contents(data)
    outcomes = {}
    for position in range(len(data)):
        mutated = bytearray(data)
        mutated[position] ^= flip
        outcomes[position] = classify(bytes(mutated), reference)
    assert Outcome.OTHER_EXCEPTION not in outcomes.values()
    assert Outcome.DIFFERENT_CONTENT not in outcomes.values()
    # Only the minor version (readable by design) and the reserved byte may change unnoticed.
    unnoticed = [p for p, outcome in outcomes.items() if outcome is Outcome.SAME_CONTENT]
    assert unnoticed == [10, 11]


@pytest.mark.parametrize("fixture", ["small", "small_alpha"])
def test_every_truncation(fixture: str, request: pytest.FixtureRequest) -> None:
    data = request.getfixturevalue(fixture)
    reference = reference_contents(data)
    for length in range(len(data)):
        assert classify(data[:length], reference) is Outcome.TADM_ERROR, length


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

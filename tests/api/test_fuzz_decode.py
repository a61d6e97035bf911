"""CI share of the structure-aware decode fuzzer (tools/fuzz/decode.py): chunk payloads mutated with
valid CRCs decode or raise a TadmError, never anything else, never a hang."""

from __future__ import annotations

import pytest

from tools.fuzz.decode import chunks, fuzz


@pytest.mark.slow
@pytest.mark.usefixtures("registered_models")
def test_mutated_payloads_with_valid_crcs_decode_or_raise_tadm_errors() -> None:
    report = fuzz("test-16x", count=40, seed=7, seconds=30.0)
    assert report["bugs"] == []
    assert sum(report["outcomes"].values()) == 40
    assert 0 < sum(report["pairings"].values()) < 40  # some mutants pair a valid structure with the wrong model
    assert set(report["outcomes"]) - {"decoded"}  # some mutants were refused: the mutations reach the checks


def test_the_mutator_keeps_every_crc_valid() -> None:
    import numpy as np

    from tadmcodec_formats import ChecksumError, TadmError, TadmReader
    from tests.containers import random_container
    from tools.fuzz.decode import mutate

    data, _ = random_container(width=40, height=20, scale=16)
    for index in range(30):
        mutant = mutate(data, np.random.default_rng(index))
        assert len(mutant) == len(data) and [c[1] for c in chunks(mutant)] == [c[1] for c in chunks(data)]
        try:
            TadmReader(mutant).verify()
        except TadmError as err:  # refused for its values, never for a checksum
            assert not isinstance(err, ChecksumError), err

"""The server passes the IIIF Image API validator (the `iiif-validator` package) at level 2 of version
3.0, every test of that level and below, on the validator's own test image served losslessly (a plain
PNG fixture library: the codec's decode is not lossless, and the validator checks exact colours)."""

from __future__ import annotations

import random
from pathlib import Path

import iiif_validator.validator as validator
import numpy as np
from PIL import Image

from tadmcodec.serve import create_app

from .live_server import live_server
from .plain_library import PlainLibrary

IDENTIFIER = "67352ccc-d1b0-11e1-89ae-279075081939"  # the validator's fixed test identifier


def validator_image(folder: Path) -> None:
    """The validator's 1000 x 1000 test image: 10 x 10 squares of the colours it checks
    (colorInfo[column][row])."""
    colours = np.array(validator.ValidationInfo().colorInfo, np.uint8)  # (column, row, 3)
    pixels = np.repeat(np.repeat(colours.transpose(1, 0, 2), 100, 0), 100, 1)
    Image.fromarray(pixels).save(folder / f"{IDENTIFIER}.png")


def test_level_2_of_version_3(tmp_path: Path) -> None:
    validator_image(tmp_path)
    random.seed(0)  # the validator draws random parameters
    suite = validator.TestSuite(validator.ValidationInfo())
    tests = {name: info for name, info in suite.list_tests("3.0").items() if info["level"] <= 2}
    failures = {}
    with live_server(create_app(PlainLibrary(tmp_path))) as server:
        for name in sorted(tests):
            result = validator.ImageAPI(IDENTIFIER, server, "iiif/3", version="3.0", debug=False)
            try:
                validator.TestSuite(validator.ValidationInfo()).run_test(name, result)
            except Exception as err:  # the validator reports some failures by raising
                result.exception = err
            if result.exception:
                error = result.exception
                failures[name] = f"{getattr(error, 'message', error)} (got {getattr(error, 'got', '?')}, {result.urls})"
    assert len(tests) == 33
    assert failures == {}

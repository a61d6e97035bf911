"""Seeded mutation fuzzing of the reader: every mutated file must read to the original content or
raise a TadmError; any other exception or a different content is a bug.

    python -m tools.fuzz.container --count 100000 --seed 0
"""

from __future__ import annotations

import argparse
import enum
import json
import time

import numpy as np

from tadmcodec_formats.errors import TadmError
from tadmcodec_formats.header import ColourType
from tadmcodec_formats.metadata import Metadata
from tadmcodec_formats.reader import TadmContents, read_tadm
from tests.containers import random_container


class Outcome(enum.Enum):
    SAME_CONTENT = "same content"
    TADM_ERROR = "TadmError"
    DIFFERENT_CONTENT = "different content (bug)"
    OTHER_EXCEPTION = "other exception (bug)"


def reference_contents(data: bytes) -> TadmContents:
    return read_tadm(data)


def _same(a: TadmContents, b: TadmContents) -> bool:
    return (
        a.header == b.header
        and a.metadata == b.metadata
        and a.patches == b.patches
        and np.array_equal(a.lr, b.lr)
        and (a.alpha is None) == (b.alpha is None)
        and (a.alpha is None or np.array_equal(a.alpha, b.alpha))
    )


def classify(data: bytes, reference: TadmContents) -> Outcome:
    """Read mutated bytes and say which of the four outcomes happened."""
    try:
        contents = read_tadm(data)
    except TadmError:
        return Outcome.TADM_ERROR
    except Exception:  # any other exception is exactly what the fuzzer looks for
        return Outcome.OTHER_EXCEPTION
    return Outcome.SAME_CONTENT if _same(contents, reference) else Outcome.DIFFERENT_CONTENT


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One random mutation: byte flips, a random overwrite, an insertion, a deletion or a truncation."""
    out = bytearray(data)
    kind = rng.integers(5)
    position = int(rng.integers(len(out)))
    if kind == 0:
        for p in rng.integers(0, len(out), int(rng.integers(1, 5))):
            out[int(p)] ^= int(rng.integers(1, 256))
    elif kind == 1:
        count = int(rng.integers(1, 9))
        out[position : position + count] = rng.integers(0, 256, count, dtype=np.uint8).tobytes()
    elif kind == 2:
        out[position:position] = rng.integers(0, 256, int(rng.integers(1, 9)), dtype=np.uint8).tobytes()
    elif kind == 3:
        del out[position : position + int(rng.integers(1, 9))]
    else:
        del out[position:]
    return bytes(out)


def sample_files() -> list[bytes]:
    """Small containers: RGB with one tile, and RGBA with metadata over several 8x8 tiles."""
    metadata = Metadata(exif=b"II*\0", text={"a": "b"})
    return [
        random_container(90, 70, 16, ColourType.RGB, seed=0, metadata=metadata, patch=8, overlap=2)[0],
        random_container(
            64, 40, 32, ColourType.RGBA, seed=1, metadata=metadata, patch=8, overlap=2, tile_width=8, tile_height=8
        )[0],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    files = sample_files()
    references = [reference_contents(f) for f in files]
    counts = {outcome.value: 0 for outcome in Outcome}
    start = time.perf_counter()
    for i in range(args.count):
        which = i % len(files)
        counts[classify(mutate(files[which], rng), references[which]).value] += 1
    report = {"inputs": args.count, "seed": args.seed, "seconds": round(time.perf_counter() - start, 1), **counts}
    print(json.dumps(report, indent=2))
    raise SystemExit(1 if counts[Outcome.OTHER_EXCEPTION.value] or counts[Outcome.DIFFERENT_CONTENT.value] else 0)


if __name__ == "__main__":
    main()

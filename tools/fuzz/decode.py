"""Structure-aware fuzzing of decoding: mutate chunk payloads, recompute their CRCs (so the CRC is no
defence), decode in-process; the only acceptable outcomes are a decoded image or a TadmError.

    python -m tools.fuzz.decode --count 1500 --seed 0 [--model NAME]   # default: the 16x default model

A file is encoded once with the model (a 64 x 48 photo-like image); each mutant changes one chunk:
random bytes of its payload, or a field of THDR / PTCH set to an edge value (0, 1, the type's
maximum, a near-miss of the valid one); or (PAIRING of them) is a structurally valid file with a wrong
pairing: its header names another installed model with that model's true digest, at either scale,
over a patch grid of a random patch size and overlap shaped to fit its own latent. Decodes run with a
time limit per mutant; a hang or any exception that is not a TadmError is a bug and is printed with the
mutant's seed.
"""

from __future__ import annotations

import argparse
import io
import json
import signal
import struct
import time
from collections import Counter
from typing import Any

import numpy as np

from tadmcodec.store.registry import DEFAULT_MODELS
from tadmcodec_formats import TadmError
from tadmcodec_formats.chunks import MAGIC, encode_chunk

PREAMBLE = 12
EDGE_VALUES = {1: (0, 1, 0xFF), 2: (0, 1, 7, 8, 9, 31, 33, 0xFFFF), 4: (0, 1, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF)}
# (offset, size) of the numeric fields a mutant may set, per format version, in the fuzzed 64 x 48 file:
# THDR width, height, scale, colour, tile sizes; PTCH patch size, overlap, then columns and rows (version
# 1) or the timestep minimum and bit width (version 2, whose small fields are varints: edge values there
# are also cut-off and overlong varints).
FIELDS = {
    1: {b"THDR": [(0, 4), (4, 4), (8, 1), (9, 1), (12, 2), (14, 2)], b"PTCH": [(0, 2), (2, 2), (4, 4), (8, 4)]},
    2: {b"THDR": [(0, 1), (1, 1), (2, 1), (3, 1), (6, 2), (8, 2)], b"PTCH": [(0, 1), (1, 1), (2, 1), (3, 1)]},
}


PAIRING = 0.3  # the share of mutants that pair a valid structure with the wrong model or grid
PATCHES = ((8, 0), (8, 4), (16, 4), (32, 4), (32, 8), (40, 8), (64, 16))


class Hang(Exception):
    pass


def chunks(data: bytes) -> list[tuple[int, bytes, int]]:
    """(offset, type, payload length) of every chunk."""
    found, offset = [], PREAMBLE
    while offset + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, offset)
        found.append((offset, kind, length))
        offset += 12 + length
    return found


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One chunk's payload changed in place (same length) and its CRC recomputed."""
    offset, kind, length = chunks(data)[int(rng.integers(len(chunks(data))))]
    payload = bytearray(data[offset + 8 : offset + 8 + length])
    fields = [f for f in FIELDS[data[len(MAGIC)]].get(kind, []) if f[0] + f[1] <= length]
    if fields and rng.random() < 0.6:
        start, size = fields[int(rng.integers(len(fields)))]
        value = int(rng.choice(EDGE_VALUES[size]))
        payload[start : start + size] = value.to_bytes(size, "big")
    elif payload:
        for position in rng.integers(0, len(payload), int(rng.integers(1, 4))):
            payload[int(position)] = int(rng.integers(256))
    return data[:offset] + encode_chunk(kind, bytes(payload)) + data[offset + 12 + length :]


def mispair(data: bytes, models: dict[str, bytes], rng: np.random.Generator) -> bytes:
    """The file rewritten, valid in structure, naming another installed model (with its true digest)
    at a random scale, over a random patch grid that fits the header's latent."""
    import dataclasses

    from tadmcodec_formats import Metadata, PatchGrid, TadmReader, TadmWriter, patch_count

    reader = TadmReader(data)
    name = sorted(models)[int(rng.integers(len(models)))]
    scale = int(rng.choice([16, 32]))
    size = {"width": reader.header.lr_width * scale, "height": reader.header.lr_height * scale}
    header = dataclasses.replace(reader.header, model_id=name, model_sha256=models[name], scale=scale, **size)
    patch, overlap = PATCHES[int(rng.integers(len(PATCHES)))]
    width, height = header.latent_size
    shape = (patch_count(height, patch, overlap), patch_count(width, patch, overlap))
    grid = PatchGrid(patch, overlap, rng.integers(0, 1000, shape))
    out = io.BytesIO()
    with TadmWriter(out, header, Metadata()) as writer:
        writer.write_image(reader.read_lr(), grid, None)
    return out.getvalue()


def installed_models() -> dict[str, bytes]:
    """Every installed model's name and weight digest (the digest a file naming it must carry)."""
    from tadmcodec.store.folder import model_digest
    from tadmcodec.store.registry import available_models

    return {name: model_digest(folder) for name, folder in available_models().items()}


def outcome(data: bytes, seconds: float) -> str:
    """ "decoded", the TadmError's class name, or "BUG: ..." for anything else (a hang included)."""
    import tadmcodec

    def alarm(*_: object) -> None:
        raise Hang

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        tadmcodec.decode(data)
        return "decoded"
    except TadmError as err:
        return type(err).__name__
    except Hang:
        return f"BUG: no answer within {seconds} s"
    except Exception as err:  # what the fuzzer looks for
        return f"BUG: {type(err).__name__}: {err}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def fuzz(model: str, count: int, seed: int, seconds: float = 20.0) -> dict[str, Any]:
    import tadmcodec
    from tadmcodec.store.registry import model_scale, resolve_model

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:48, :64]
    image = np.clip(np.stack([xx * 4, yy * 5, (xx * yy) % 256], -1) + rng.normal(0, 10, (48, 64, 3)), 0, 255)
    original = io.BytesIO()
    scale = model_scale(resolve_model(model, allow_path=True))
    tadmcodec.encode(image.astype(np.uint8), original, model=model, scale=scale)
    outcomes: Counter[str] = Counter()
    pairings: Counter[str] = Counter()  # the outcomes of the wrong-pairing mutants among them
    bugs = []
    models = installed_models()
    start = time.perf_counter()
    for index in range(count):
        mutant_rng = np.random.default_rng([seed, index])
        pairing = mutant_rng.random() < PAIRING
        mutant = (
            mispair(original.getvalue(), models, mutant_rng) if pairing else mutate(original.getvalue(), mutant_rng)
        )
        result = outcome(mutant, seconds)
        if pairing:
            pairings[result.split(":")[0]] += 1
        outcomes[result.split(":")[0]] += 1
        if result.startswith("BUG"):
            bugs.append({"mutant": [seed, index], "result": result})
    seconds_taken = round(time.perf_counter() - start, 1)
    return {
        "count": count,
        "seconds": seconds_taken,
        "outcomes": dict(outcomes),
        "pairings": dict(pairings),
        "bugs": bugs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default=DEFAULT_MODELS[16])
    args = parser.parse_args()
    report = fuzz(args.model, args.count, args.seed)
    print(json.dumps(report, indent=1))
    raise SystemExit(1 if report["bugs"] else 0)


if __name__ == "__main__":
    main()

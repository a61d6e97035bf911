"""Back on the CPU machine: validate what a GPU train run returned and, if it beats the shipped release
on the realism targets, ship it under new names (the frozen-weights policy).

    python -m tools.gpu.adopt /work/.device/.../out --val ../shared/data/val/bsd100 [--release r5]

Joins results.tar.gz.NN, extracts them to runs/gpu-adopt/<time>/, validates every returned model on all
of the validation images (tadmcodec.evaluation.validate, with SSIMULACRA2) against the shipped default
of its scale (its validation recorded at release when that covers the same images, else measured), and
prints a table of the issue's realism targets for both. With --release SUFFIX, each model that is
better by tools.release's rule (more targets met, or every met target kept and the figures moved
forward beyond noise) is copied into the package by tools.release (as default-<scale>x-SUFFIX with its
backbone as tiny-backbone-SUFFIX, a reference file, the new default of its scale). Existing names are
never overwritten.
"""

from __future__ import annotations

import argparse
import io
import json
import tarfile
import time
from pathlib import Path
from typing import Any

from tadmcodec.evaluation.validate import named_images, validate
from tadmcodec.runtime.codec import Codec
from tadmcodec.store.registry import default_models
from tools.release import compare, release, shipped_validation

ROOT = Path(__file__).resolve().parents[2]


def extract(results: Path, into: Path) -> Path:
    """Join the returned parts and unpack them; the folder holding the model folders."""
    parts = sorted(results.glob("results.tar.gz.*"))
    if not parts:
        raise SystemExit(f"no results.tar.gz.NN parts in {results}")
    data = b"".join(part.read_bytes() for part in parts)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(into, filter="data")
    return into / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="the folder the device run's files came back to")
    parser.add_argument("--val", nargs="+", required=True)
    parser.add_argument("--limit", type=int, help="validate on the first N images only (not for a release)")
    parser.add_argument("--release", metavar="SUFFIX", help="ship the models that beat the shipped ones")
    args = parser.parse_args()
    if args.release and args.limit:
        raise SystemExit("a release is validated on every image: drop --limit")
    work = extract(args.results, ROOT / "runs" / "gpu-adopt" / time.strftime("%Y%m%d-%H%M%S"))
    images = named_images(args.val, args.limit)
    report: dict[str, Any] = {}
    for scale in (16, 32):
        candidate = work / f"default-{scale}x-candidate"
        if not (candidate / "config.json").is_file():
            continue
        returned = validate(Codec.load(str(candidate), allow_path=True), images, len(images), None)
        report[f"{scale}x"] = compare(shipped_validation(scale, images), returned, scale)
        report[f"{scale}x"]["shipped"] = default_models()[scale]
        if args.release and report[f"{scale}x"]["better"]:
            report[f"{scale}x"]["released"] = release(
                candidate, work / "tiny-backbone-candidate", scale, args.release, returned
            )
    (work / "comparison.json").write_text(json.dumps(report, indent=1))
    print(f"comparison: {work / 'comparison.json'} (* = target met)")


if __name__ == "__main__":
    main()

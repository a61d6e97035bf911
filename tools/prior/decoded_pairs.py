"""Training pairs for a texture prior: each training photo encoded and decoded by a released model.

The prior learns to map what the codec decodes to the original, so its inputs must be the codec's own
decodes (not a synthetic blur). Writes DIR/<scale>/NNNNN.png (the decode) and NNNNN.npy (the file's
stored timesteps, which tell the prior where the original had texture) beside the list of sources in
DIR/<scale>/sources.txt; originals are read from ../shared/data at training time, never copied.

    python -m tools.prior.decoded_pairs ../shared/data/train DIR --scale 16 [--min-side 256] [--limit N]
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image

import tadmcodec
from tadmcodec_formats import TadmReader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--scale", type=int, choices=(16, 32), default=16)
    parser.add_argument("--model", default=None, help="default: the scale's default model")
    parser.add_argument("--min-side", type=int, default=256)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    folder = args.out / str(args.scale)
    folder.mkdir(parents=True, exist_ok=True)
    sources = sorted(p for p in args.train.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    done = []
    for path in sources:
        with Image.open(path) as image:
            if image.mode != "RGB" or min(image.size) < args.min_side:
                continue
        target = folder / f"{len(done):05d}.png"
        if not target.exists() or not target.with_suffix(".npy").exists():
            buffer = io.BytesIO()
            tadmcodec.encode(path, buffer, scale=args.scale, model=args.model, strip_metadata=True)
            np.save(target.with_suffix(".npy"), TadmReader(buffer.getvalue()).read_patches().timesteps)
            if not target.exists():
                tadmcodec.decode(buffer.getvalue()).save(target, compress_level=1)
        done.append(str(path.resolve()))
        (folder / "sources.txt").write_text("\n".join(done) + "\n")
        if args.limit and len(done) >= args.limit:
            break
    print(f"{len(done)} pairs in {folder}")


if __name__ == "__main__":
    main()

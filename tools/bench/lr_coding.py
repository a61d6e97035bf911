"""Bytes of the stored LR (issue 33): `.tadm` files made by the default models, their chunks, and their own
LR re-coded losslessly by standard coders, with round-trip checks and timings.

    python -m tools.bench.lr_coding IMAGES_FOLDER [--limit 12] [--keep-size] [--format-version 2] [--out FILE]

Each image is cropped to 3:2 and resized to 768 x 512 (RGB), or taken at its own size with --keep-size
(a validation set), encoded with the scale's default model and metadata stripped. Per scale: `.tadm`
bytes; their split into LR tile payloads (a tile chunk's payload: codec byte or tile number, coded
pixels) and structure (everything else: preamble, header, index, patch grid, end, and every chunk's
length, type and CRC); and the LR read back from the file coded as PNG (optimize), WebP lossless
(method 6) and JPEG XL lossless (effort 9, pillow-jxl-plugin), each decoded again and checked equal,
with encode and decode seconds.
"""

from __future__ import annotations

import argparse
import io
import struct
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import tadmcodec
from tadmcodec_formats import TadmReader
from tadmcodec_formats.chunks import PREAMBLE_SIZE
from tools.bench.report import emit

CODERS = {
    "png": {"format": "PNG", "optimize": True},
    "webp_lossless": {"format": "WEBP", "lossless": True, "quality": 100, "method": 6},
    "jxl_lossless": {"format": "JXL", "lossless": True, "effort": 9},
}
PAYLOAD_CHUNKS = {b"LRTL", b"ALTL"}


def chunk_bytes(data: bytes) -> dict[str, int]:
    """Bytes per chunk type, each chunk counted whole (length, type, payload, CRC), plus the preamble."""
    sizes: dict[str, int] = {"preamble": PREAMBLE_SIZE}
    offset = PREAMBLE_SIZE
    while offset < len(data):
        length, kind = struct.unpack_from(">I4s", data, offset)
        sizes[kind.decode()] = sizes.get(kind.decode(), 0) + 12 + length
        offset += 12 + length
    return sizes


def photograph(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        rgb = image.convert("RGB")
    width, height = rgb.size
    if width * 2 > height * 3:
        crop_w = height * 3 // 2
        rgb = rgb.crop(((width - crop_w) // 2, 0, (width - crop_w) // 2 + crop_w, height))
    else:
        crop_h = width * 2 // 3
        rgb = rgb.crop((0, (height - crop_h) // 2, width, (height - crop_h) // 2 + crop_h))
    return np.asarray(rgb.resize((768, 512), Image.Resampling.LANCZOS))


def image_files(folder: Path, recursive: bool = False) -> list[Path]:
    """The PNG and JPEG files in folder (and its subfolders, recursive), sorted."""
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in found if p.suffix.lower() in {".png", ".jpg", ".jpeg"})


def stored_lr(image: np.ndarray, scale: int) -> np.ndarray:
    """The LR the scale's default model stores for an image (metadata stripped), read back from its file."""
    buffer = io.BytesIO()
    tadmcodec.encode(image, buffer, scale=scale, strip_metadata=True)
    return TadmReader(buffer.getvalue()).read_lr()


def recode(lr: np.ndarray, options: dict[str, Any]) -> tuple[int, float, float]:
    """(bytes, encode seconds, decode seconds) of the LR in one coder, after checking the round trip."""
    import pillow_jxl  # noqa: F401  (registers JPEG XL with Pillow)

    buffer = io.BytesIO()
    start = time.perf_counter()
    Image.fromarray(lr).save(buffer, **options)
    encoded = time.perf_counter() - start
    start = time.perf_counter()
    with Image.open(io.BytesIO(buffer.getvalue())) as image:
        back = np.asarray(image.convert("RGB"))
    decoded = time.perf_counter() - start
    assert np.array_equal(back, lr), f"{options['format']} is not lossless here"
    return buffer.tell(), encoded, decoded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", type=Path)
    parser.add_argument("--limit", type=int, default=12)
    parser.add_argument("--keep-size", action="store_true", help="encode the images at their own size")
    parser.add_argument("--format-version", type=int, default=2, help="the container version to encode to")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    paths = image_files(args.images)[: args.limit]
    report: dict[str, Any] = {"images": [p.name for p in paths], "size": "own" if args.keep_size else [768, 512]}
    report["format_version"] = args.format_version
    for scale in (16, 32):
        totals: dict[str, float] = {"tadm": 0, "payload": 0, "structure": 0}
        chunks: dict[str, int] = {}
        for path in paths:
            buffer = io.BytesIO()
            image = np.asarray(Image.open(path).convert("RGB")) if args.keep_size else photograph(path)
            tadmcodec.encode(image, buffer, scale=scale, strip_metadata=True, format_version=args.format_version)
            data = buffer.getvalue()
            sizes = chunk_bytes(data)
            payload = sum(size - 12 for kind, size in sizes.items() if kind.encode() in PAYLOAD_CHUNKS)
            totals["tadm"] += len(data)
            totals["payload"] += payload
            totals["structure"] += len(data) - payload
            for kind, size in sizes.items():
                chunks[kind] = chunks.get(kind, 0) + size
            lr = TadmReader(data).read_lr()
            for name, options in CODERS.items():
                size, encoded, decoded = recode(lr, options)
                totals[name] = totals.get(name, 0) + size
                totals[f"{name}_encode_s"] = totals.get(f"{name}_encode_s", 0.0) + encoded
                totals[f"{name}_decode_s"] = totals.get(f"{name}_decode_s", 0.0) + decoded
        count = len(paths)
        report[f"{scale}x"] = {
            "bytes": {k: int(v) for k, v in totals.items() if not k.endswith("_s")},
            "seconds": {k: round(v, 3) for k, v in totals.items() if k.endswith("_s")},
            "tadm_over": {name: round(totals["tadm"] / totals[name], 3) for name in CODERS},
            "structure_per_file": round(totals["structure"] / count, 1),
            "chunk_bytes_per_file": {k: round(v / count, 1) for k, v in chunks.items()},
        }
    emit(report, args.out)


if __name__ == "__main__":
    main()

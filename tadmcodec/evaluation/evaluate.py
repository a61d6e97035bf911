"""`tadmcodec eval`: rate and quality of tadmcodec against rescaling baselines and standard codecs.

    tadmcodec eval DIR... --scale 16 32 --out RESULTS_DIR [--crop N] [--ssimulacra2-limit N]
    python -m tadmcodec.evaluation.evaluate DIR... --scale 16 32 --out RESULTS_DIR

Per image and scale: tadmcodec (encode + decode, timed), bicubic and Lanczos rescaling at the LR size
(rate: the LR as an optimized PNG), and JPEG, WebP, AVIF and JPEG XL at the highest quality whose file
fits the .tadm file's byte budget. Each finished image is saved as JSON under RESULTS_DIR/images/, so an
interrupted run resumes where it stopped; the report (CompressAI-style JSON per method, summary.md,
rate-quality plot) is rebuilt from all of them at the end.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from ..errors import TadmError
from ..image_io import IMAGE_SUFFIXES
from ..metrics import quality
from .baselines import rescale_baseline
from .standard_codecs import CODECS, fit_budget

RESCALERS = {"bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS}


def load_rgb(path: Path, crop: int | None) -> np.ndarray:
    """The image as RGB uint8, center-cropped to crop x crop when asked (and larger)."""
    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"))
    if crop:
        height, width = rgb.shape[:2]
        y0, x0 = max(0, (height - crop) // 2), max(0, (width - crop) // 2)
        rgb = rgb[y0 : y0 + crop, x0 : x0 + crop]
    return np.ascontiguousarray(rgb)


def _png_bytes(image: Image.Image) -> int:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.tell()


def evaluate_image(rgb: np.ndarray, scale: int, model: str | None, with_ssimulacra2: bool) -> dict:
    """Every method on one image at one scale: metrics, bpp, times; plus what the pictures need."""
    from tadmcodec.api import load_codec

    from .. import api

    load_codec(model, scale, None)  # loaded once, outside the timings
    height, width = rgb.shape[:2]
    pixels, megapixels = width * height, width * height / 1e6
    buffer = io.BytesIO()
    start = time.perf_counter()
    api.encode(rgb, buffer, scale=scale, model=model)
    encode_s = time.perf_counter() - start
    start = time.perf_counter()
    decoded = api.decode(buffer.getvalue(), as_array=True)
    decode_s = time.perf_counter() - start
    budget = len(buffer.getvalue())
    methods = {"tadmcodec": quality(rgb, decoded, with_ssimulacra2) | {
        "bpp": 8 * budget / pixels, "bytes": budget, "encode_s_per_mp": encode_s / megapixels,
        "decode_s_per_mp": decode_s / megapixels,
    }}  # fmt: skip
    outputs = {"tadmcodec": decoded}
    lr_size = (-(-width // scale), -(-height // scale))
    for name, method in RESCALERS.items():
        lr_bytes = _png_bytes(Image.fromarray(rgb).resize(lr_size, method))
        outputs[name] = rescale_baseline(rgb, scale, method)
        methods[name] = quality(rgb, outputs[name], with_ssimulacra2) | {"bpp": 8 * lr_bytes / pixels}
    for codec in CODECS:
        start = time.perf_counter()
        fitted = fit_budget(rgb, codec, budget)
        if fitted.decoded is not None:
            outputs[codec] = fitted.decoded
        if not fitted.fits:
            methods[codec] = {"skipped": fitted.note} | ({"smallest_bytes": len(fitted.data)} if fitted.data else {})
            continue
        methods[codec] = quality(rgb, fitted.decoded, with_ssimulacra2) | {
            "bpp": 8 * len(fitted.data) / pixels, "bytes": len(fitted.data), "quality": fitted.quality,
            "search_s_per_mp": (time.perf_counter() - start) / megapixels,
        }  # fmt: skip
    return {"width": width, "height": height, "scale": scale, "methods": methods, "tadm": buffer.getvalue(),
            "outputs": outputs}  # fmt: skip


def run(folders: list[Path], scales: list[int], out: Path, model: dict[int, str | None], crop: int | None,
        ssimulacra2_limit: int | None, pictures: int) -> None:  # fmt: skip
    """Evaluate every image of every folder at every scale (skipping finished ones), then report."""
    from .pictures import side_by_side
    from .report import write_report

    jobs = []
    for folder in folders:
        images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        jobs += [(folder.name, index, path, scale) for index, path in enumerate(images) for scale in scales]
    for dataset, index, path, scale in tqdm(jobs, desc="eval", unit="image"):
        record_path = out / "images" / dataset / f"{path.name}-{scale}x.json"
        if record_path.exists():
            continue
        rgb = load_rgb(path, crop)
        with_s2 = ssimulacra2_limit is None or index < ssimulacra2_limit
        result = evaluate_image(rgb, scale, model.get(scale), with_s2)
        if index < pictures:
            picture = out / "pictures" / dataset / f"{path.name}-{scale}x.jpg"
            picture.parent.mkdir(parents=True, exist_ok=True)
            side_by_side(rgb, result, picture)
        record = {"image": path.name, "dataset": dataset, "crop": crop, **{k: result[k] for k in
                  ("width", "height", "scale", "methods")}}  # fmt: skip
        record_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = record_path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(record, indent=1) + "\n")
        temporary.replace(record_path)
    write_report(out)


def main_from_args(args: argparse.Namespace) -> int:
    missing = [str(f) for f in args.folders if not f.is_dir()]
    if missing:
        raise TadmError(f"not a folder: {', '.join(missing)}")
    run(args.folders, args.scale, args.out, {16: args.model_16, 32: args.model_32}, args.crop,
        args.ssimulacra2_limit, args.pictures)  # fmt: skip
    return 0


def main() -> None:
    from .arguments import add_arguments

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    raise SystemExit(main_from_args(parser.parse_args()))


if __name__ == "__main__":
    main()

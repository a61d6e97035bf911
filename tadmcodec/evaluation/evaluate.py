"""`tadmcodec eval`: rate and quality of tadmcodec against rescaling baselines and standard codecs.

    tadmcodec eval DIR... --scale 16 32 --out RESULTS_DIR [--crop N] [--ssimulacra2-limit N]
    python -m tadmcodec.evaluation.evaluate DIR... --scale 16 32 --out RESULTS_DIR

Per image and scale: tadmcodec (encode + decode, timed; with --previous-16/32 also an earlier release,
as "tadmcodec-previous"), bicubic and Lanczos rescaling at the LR size (rate: the LR as an optimized
PNG), JPEG, WebP, AVIF and JPEG XL at the highest quality whose file fits the .tadm file's byte budget,
and "avif-rescaled", the strongest standard pipeline: downscale by 1, 2, 4 or 8, AVIF within the
budget, Lanczos back up, the factor with the best PSNR-Y. Every method gets PSNR, PSNR-Y, SSIM,
MS-SSIM, SSIMULACRA2 and the realism measures (detail ratio, 8-pixel grid excess: tadmcodec.quality.metrics).
Each finished image is saved as JSON under RESULTS_DIR/images/, so an
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
from ..io.image_input import IMAGE_SUFFIXES
from ..quality.metrics import checkerboard, detail_ratio, grid_excess, period_pattern, quality
from .baselines import rescale_baseline
from .standard_codecs import CODECS, available, fit_budget, rescaled_avif

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


def measure(reference: np.ndarray, test: np.ndarray, with_ssimulacra2: bool) -> dict[str, float]:
    """Full-reference metrics and the realism measures of one output."""
    horizontal, vertical = grid_excess(test)
    return quality(reference, test, with_ssimulacra2) | {
        "detail_ratio": detail_ratio(reference, test),
        "grid_excess": max(horizontal, vertical),
        "checkerboard": checkerboard(test),
        "pattern_4px": period_pattern(test),
    }


def run_tadmcodec(
    rgb: np.ndarray, scale: int, model: str | None, with_ssimulacra2: bool
) -> tuple[dict, np.ndarray, bytes]:
    """(metrics with bpp and times, decoded pixels, the .tadm file) for one model."""
    from .. import api

    api.load_codec(model, scale, None)  # loaded once, outside the timings
    pixels, megapixels = rgb.shape[0] * rgb.shape[1], rgb.shape[0] * rgb.shape[1] / 1e6
    buffer = io.BytesIO()
    start = time.perf_counter()
    api.encode(rgb, buffer, scale=scale, model=model)
    encode_s = time.perf_counter() - start
    start = time.perf_counter()
    decoded = api.decode(buffer.getvalue(), as_array=True)
    decode_s = time.perf_counter() - start
    size = len(buffer.getvalue())
    metrics = measure(rgb, decoded, with_ssimulacra2) | {
        "bpp": 8 * size / pixels,
        "bytes": size,
        "encode_s_per_mp": encode_s / megapixels,
        "decode_s_per_mp": decode_s / megapixels,
    }
    return metrics, decoded, buffer.getvalue()


def evaluate_image(
    rgb: np.ndarray,
    scale: int,
    model: str | None,
    with_ssimulacra2: bool,
    previous: str | None = None,
    codecs: tuple[str, ...] = tuple(CODECS),
) -> dict:
    """Every method on one image at one scale: metrics, bpp, times; plus what the pictures need."""
    height, width = rgb.shape[:2]
    pixels, megapixels = width * height, width * height / 1e6
    metrics, decoded, tadm = run_tadmcodec(rgb, scale, model, with_ssimulacra2)
    budget = len(tadm)
    methods, outputs = {"tadmcodec": metrics}, {"tadmcodec": decoded}
    if previous:
        methods["tadmcodec-previous"], outputs["tadmcodec-previous"], _ = run_tadmcodec(
            rgb, scale, previous, with_ssimulacra2
        )
    lr_size = (-(-width // scale), -(-height // scale))
    for name, method in RESCALERS.items():
        lr_bytes = _png_bytes(Image.fromarray(rgb).resize(lr_size, method))
        outputs[name] = rescale_baseline(rgb, scale, method)
        methods[name] = measure(rgb, outputs[name], with_ssimulacra2) | {"bpp": 8 * lr_bytes / pixels}
    for codec in codecs:
        start = time.perf_counter()
        fitted = fit_budget(rgb, codec, budget)
        if fitted.decoded is not None:
            outputs[codec] = fitted.decoded
        if not fitted.fits:
            methods[codec] = {"skipped": fitted.note} | ({"smallest_bytes": len(fitted.data)} if fitted.data else {})
            continue
        methods[codec] = measure(rgb, fitted.decoded, with_ssimulacra2) | {
            "bpp": 8 * len(fitted.data) / pixels,
            "bytes": len(fitted.data),
            "quality": fitted.quality,
            "search_s_per_mp": (time.perf_counter() - start) / megapixels,
        }
    pipeline = (
        rescaled_avif(rgb, budget, lambda out: quality(rgb, out, False, False)["psnr_y"]) if available("avif") else None
    )
    if pipeline is None:
        methods["avif-rescaled"] = {"skipped": "AVIF cannot reach the budget even at 1/8 of the size"}
    else:
        outputs["avif-rescaled"] = pipeline.decoded
        data = pipeline.fitted.data
        methods["avif-rescaled"] = measure(rgb, pipeline.decoded, with_ssimulacra2) | {
            "bpp": 8 * len(data) / pixels,
            "bytes": len(data),
            "factor": pipeline.factor,
            "quality": pipeline.fitted.quality,
        }
    return {"width": width, "height": height, "scale": scale, "methods": methods, "tadm": tadm, "outputs": outputs}


def run(
    folders: list[Path],
    scales: list[int],
    out: Path,
    model: dict[int, str | None],
    crop: int | None,
    ssimulacra2_limit: int | None,
    pictures: int,
    previous: dict[int, str | None] | None = None,
    codecs: tuple[str, ...] = tuple(CODECS),
) -> None:
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
        result = evaluate_image(rgb, scale, model.get(scale), with_s2, (previous or {}).get(scale), codecs)
        if index < pictures:
            picture = out / "pictures" / dataset / f"{path.name}-{scale}x.jpg"
            picture.parent.mkdir(parents=True, exist_ok=True)
            side_by_side(rgb, result, picture)
        record = {
            "image": path.name,
            "dataset": dataset,
            "crop": crop,
            **{k: result[k] for k in ("width", "height", "scale", "methods")},
        }
        record_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = record_path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(record, indent=1) + "\n")
        temporary.replace(record_path)
    write_report(out)


def main_from_args(args: argparse.Namespace) -> int:
    missing = [str(f) for f in args.folders if not f.is_dir()]
    if missing:
        raise TadmError(f"not a folder: {', '.join(missing)}")
    if args.out.exists() and not args.out.is_dir():
        raise TadmError(f"--out {args.out} exists and is not a folder")
    run(
        args.folders,
        args.scale,
        args.out,
        {16: args.model_16, 32: args.model_32},
        args.crop,
        args.ssimulacra2_limit,
        args.pictures,
        {16: args.previous_16, 32: args.previous_32},
        tuple(args.codecs),
    )
    summary = args.out / "summary.md"
    print(f"{summary}:\n\n{summary.read_text()}" if summary.is_file() else f"{args.out}: no images evaluated")
    return 0


def main() -> None:
    from .arguments import add_arguments

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    raise SystemExit(main_from_args(parser.parse_args()))


if __name__ == "__main__":
    main()

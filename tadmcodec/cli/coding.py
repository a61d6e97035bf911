"""`tadmcodec encode` and `tadmcodec decode`, for one file or batches, with progress and a summary."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from ..api import read_header
from ..errors import TadmError
from ..hashing import file_sha256
from ..image_io import IMAGE_SUFFIXES
from ..manifest import MANIFEST_NAME, still_good
from ..manifest import append as append_record
from ..manifest import read as read_manifest
from ..progress import Progress
from .paths import TADM_SUFFIXES, add_overwrite_flags, expand_inputs, plan_outputs, should_write


def _add_output_flags(parser: argparse.ArgumentParser) -> None:
    add_overwrite_flags(parser)
    parser.add_argument("--out-dir", type=Path, help="write one output per input into this folder")
    parser.add_argument("--device", help="cpu, cuda, cuda:N (default: CUDA when available, else CPU)")
    parser.add_argument("--threads", type=positive_int, help="CPU threads for the model (default: one per core)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def add_parsers(commands: argparse._SubParsersAction) -> None:
    encode = commands.add_parser("encode", help="encode images to .tadm files")
    encode.add_argument("paths", nargs="+", help="INPUT OUTPUT.tadm, or inputs (files, folders, globs) with --out-dir")
    encode.add_argument("--scale", type=int, choices=(16, 32), default=16)
    encode.add_argument("--model", help="model name or folder (default: default-16x or default-32x)")
    encode.add_argument("--strip-metadata", action="store_true", help="do not carry EXIF, ICC, XMP and text")
    _add_output_flags(encode)
    encode.set_defaults(run=_encode)
    decode = commands.add_parser("decode", help="decode .tadm files to PNG, TIFF, JPEG or WebP")
    decode.add_argument("paths", nargs="+", help="INPUT.tadm OUTPUT.png|tif|jpg|webp, or inputs with --out-dir")
    decode.add_argument("--format", default="png", help="output format with --out-dir: png, tif, jpg or webp")
    decode.add_argument("--box", help="LEFT,UPPER,RIGHT,LOWER: decode only this box of the image (pixels)")
    decode.add_argument("--timestep-map", type=Path, help="also save a picture of the per-patch timesteps")
    decode.add_argument(
        "--timestep-scale", type=float, default=1.0, help="multiply the stored timesteps (<1: fidelity)"
    )
    decode.add_argument("--timestep", type=int, help="use this timestep for every patch (0-999)")
    _add_output_flags(decode)
    decode.set_defaults(run=_decode)


def _jobs(args: argparse.Namespace, suffixes: set[str], out_suffix: str) -> list[tuple[Path, Path]]:
    if args.out_dir is not None:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        return plan_outputs(expand_inputs(args.paths, suffixes), args.out_dir, out_suffix)
    if len(args.paths) != 2:
        raise TadmError(f"give INPUT and OUTPUT, or inputs with --out-dir ({len(args.paths)} paths given)")
    source, target = Path(args.paths[0]), Path(args.paths[1])
    if not target.resolve().parent.is_dir():
        raise TadmError(f"cannot write {target}: the folder {target.parent} does not exist")
    return [(source, target)]


def _run_batch(args: argparse.Namespace, jobs: list[tuple[Path, Path]], work: Callable, verb: str) -> int:
    """Run work(source, target, progress bar) -> (pixels, metadata bytes) per job; one error line per
    failed file; print a summary. With --out-dir, keep DIR/manifest.jsonl: inputs whose recorded output
    is intact are skipped (unless --overwrite), the others (re)done, every result recorded
    (tadmcodec.manifest)."""
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    manifest = args.out_dir / MANIFEST_NAME if args.out_dir is not None else None
    done = read_manifest(manifest) if manifest else {}
    failures, totals, start = 0, {"files": 0, "in": 0, "out": 0, "pixels": 0, "meta": 0}, time.perf_counter()
    files_bar = tqdm(jobs, desc=f"{verb} files", unit="file", disable=args.quiet or len(jobs) < 2)
    for source, target in files_bar:
        record = done.get(str(source))
        if manifest and not args.overwrite and still_good(record, source, target):
            continue
        ours = record is not None and record.get("output") == str(target)  # a damaged output of this job
        job_start = time.perf_counter()
        try:
            if not should_write(source, target, args.overwrite or ours, args.skip_existing):
                continue
            with tqdm(desc=source.name, unit="patch", disable=args.quiet, leave=False) as patches:
                pixels, metadata = work(source, target, patches)
            totals["files"] += 1
            totals["in"] += source.stat().st_size
            totals["out"] += target.stat().st_size
            totals["pixels"] += pixels
            totals["meta"] += metadata
            if manifest:
                append_record(manifest, _record(source, target, "ok", time.perf_counter() - job_start, pixels))
        except (TadmError, OSError) as err:
            failures += 1
            print(f"tadmcodec {args.command}: {source}: {err}", file=sys.stderr)
            if manifest:
                append_record(manifest, _record(source, target, "failed", time.perf_counter() - job_start, 0,
                                                str(err)))  # fmt: skip
    seconds = time.perf_counter() - start
    tadm_bytes = totals["out"] if verb == "encode" else totals["in"]
    bpp = 8 * tadm_bytes / max(totals["pixels"], 1)
    payload_bpp = 8 * (tadm_bytes - totals["meta"]) / max(totals["pixels"], 1)
    print(f"{verb}d {totals['files']} file(s), {failures} failed: {totals['in']} bytes in, {totals['out']} bytes out, "
          f"{bpp:.4f} bpp ({payload_bpp:.4f} without {totals['meta']} bytes of metadata), {seconds:.1f} s")  # fmt: skip
    return 1 if failures else 0


def _encode(args: argparse.Namespace) -> int:
    from ..api import check_model, encode

    def work(source: Path, target: Path, progress: Progress) -> tuple[int, int]:
        result = encode(source, target, scale=args.scale, model=args.model, device=args.device, progress=progress,
                        strip_metadata=args.strip_metadata)  # fmt: skip
        return result.width * result.height, result.metadata_bytes

    try:
        check_model(args.model, args.scale)
        jobs = _jobs(args, IMAGE_SUFFIXES, ".tadm")
    except TadmError as err:
        print(f"tadmcodec encode: {err}", file=sys.stderr)
        return 2
    return _run_batch(args, jobs, work, "encode")


def _record(source: Path, target: Path, status: str, seconds: float, pixels: int, error: str = "") -> dict:
    """A manifest record: both files' sizes and SHA-256, and the model and scale of the container."""
    record = {"input": str(source), "output": str(target), "status": status, "seconds": round(seconds, 3)}
    if source.is_file():
        record |= {"input_bytes": source.stat().st_size, "input_sha256": file_sha256(source)}
    if status != "ok":
        return record | {"error": error}
    container = target if target.suffix == ".tadm" else source
    header = read_header(container)
    return record | {
        "output_bytes": target.stat().st_size, "output_sha256": file_sha256(target), "scale": header.scale,
        "model": header.model_id, "model_sha256": header.model_sha256.hex(),
        "bpp": round(8 * container.stat().st_size / max(pixels, 1), 5),
    }  # fmt: skip


def _parse_box(text: str | None) -> tuple[int, int, int, int] | None:
    if text is None:
        return None
    try:
        left, upper, right, lower = (int(v) for v in text.split(","))
    except ValueError:
        raise TadmError(f"--box must be LEFT,UPPER,RIGHT,LOWER integers, got {text!r}") from None
    return left, upper, right, lower


def _decode(args: argparse.Namespace) -> int:
    from ..image_output import output_format, save_image
    from ..tadm_file import TadmFile

    try:
        jobs = _jobs(args, TADM_SUFFIXES, f".{args.format.lower().lstrip('.')}")
        box = _parse_box(args.box)
        for _, target in jobs:
            output_format(target)
        if args.timestep_map and len(jobs) != 1:
            raise TadmError("--timestep-map takes a single input")
    except TadmError as err:
        print(f"tadmcodec decode: {err}", file=sys.stderr)
        return 2

    def work(source: Path, target: Path, progress: Progress) -> tuple[int, int]:
        with TadmFile(source, device=args.device, timestep_scale=args.timestep_scale, timestep=args.timestep) as tadm:
            tadm.save(target, box=box, progress=progress)
            if args.timestep_map:
                save_image(tadm.timestep_map(), args.timestep_map)
            return tadm.header.width * tadm.header.height, tadm.metadata.stored_bytes

    return _run_batch(args, jobs, work, "decode")

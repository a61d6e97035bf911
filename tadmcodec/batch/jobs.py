"""One file of a batch: decide whether it needs doing, do it, and describe the result as a manifest
record. Both engines run exactly this, so their outputs and records are the same."""

from __future__ import annotations

import filecmp
import os
import secrets
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tadmcodec_formats import Header
from tadmcodec_formats.atomic import no_clobber

from ..errors import OutputExistsError
from ..io.progress import Progress
from ..io.raster import Box
from ..options import DecodeOptions, EncodeOptions
from ..runtime.cpu_threads import set_cpu_threads
from ..store.folder import model_digest
from ..store.hashing import file_sha256
from ..store.registry import resolve_model
from .budget import check_budget
from .manifest import still_good
from .paths import should_write

Operation = Literal["encode", "decode"]


@dataclass(frozen=True)
class BatchOptions:
    """What to do with each file: `coding`, an EncodeOptions or DecodeOptions (tadmcodec.options), says
    the operation and how. Decoding also takes format (png, tif, jpg, webp) and box. For both: threads (CPU
    threads per process or worker), overwrite / skip_existing for outputs the manifest does not know;
    accept_identical keeps such an output when it is byte-identical to what the job writes (the output of
    an attempt that died before its record), refusing only different ones; max_pixels, each file's work
    budget (budget.py; None: Pillow's policy, 0: none); fixity, whether records carry the inputs' and
    outputs' SHA-256 (what a manifest needs; a single file needs none)."""

    coding: EncodeOptions | DecodeOptions
    format: str = "png"
    box: Box | None = None
    threads: int | None = None
    overwrite: bool = False
    skip_existing: bool = False
    accept_identical: bool = True
    max_pixels: int | None = None
    fixity: bool = True

    @property
    def operation(self) -> Operation:
        return "encode" if isinstance(self.coding, EncodeOptions) else "decode"

    @property
    def output_suffix(self) -> str:
        return ".tadm" if self.operation == "encode" else f".{self.format.lower().lstrip('.')}"


@dataclass(frozen=True)
class FileJob:
    """An input, its output, and the manifest's latest record of that input (None: never done)."""

    source: Path
    target: Path
    previous: dict[str, Any] | None = None


class FileCoder:
    """Does one FileJob at a time with the options; the model loads on the first file and stays loaded
    (codec.Codec.load keeps it per process), so a long-lived worker loads it once."""

    def __init__(self, options: BatchOptions) -> None:
        self.options = options
        if options.threads:
            set_cpu_threads(options.threads)

    def warm_up(self) -> None:
        """Load the encoding model now (decoding models are named by each file)."""
        if self.options.operation == "encode":
            from ..api import load_codec

            coding = self.options.coding
            load_codec(coding.model, coding.scale, coding.device)

    def __call__(self, job: FileJob, progress: Progress | None = None) -> dict[str, Any] | None:
        """The manifest record of doing the job: status ok, failed (with the error) or skipped (an existing
        output kept by skip_existing); None when the manifest already records this output intact."""
        options, source, target = self.options, job.source, job.target
        if not options.overwrite and still_good(job.previous, source, target):
            return None
        ours = job.previous is not None and job.previous.get("output") == str(target)  # our damaged output
        start = time.perf_counter()
        replace = options.overwrite or ours
        try:
            try:
                if not should_write(source, target, replace, options.skip_existing):
                    return _record(source, target, "skipped", start, options)
                check_budget(source, options.coding, options.max_pixels, options.box)
                with nullcontext() if replace else no_clobber():
                    pixels, metadata_bytes = self._publish(source, target, progress)
            except OutputExistsError:
                if not options.accept_identical:
                    raise
                pixels, metadata_bytes = self._work_if_identical(source, target, progress)
            return _record(source, target, "ok", start, options, pixels, metadata_bytes)
        except Exception as err:  # any error of one file is that file's failure, never the batch's
            error, kind = one_line(err), type(err).__name__
            return _record(source, target, "failed", start, options, error=error, error_type=kind)

    def _publish(self, source: Path, target: Path, progress: Progress | None) -> tuple[int, int]:
        """_work, with a target another process published meanwhile (no_clobber) as OutputExistsError."""
        try:
            return self._work(source, target, progress)
        except FileExistsError:
            message = f"{target} exists: another process wrote it meanwhile (use --overwrite to replace it)"
            raise OutputExistsError(message) from None

    def _work_if_identical(self, source: Path, target: Path, progress: Progress | None) -> tuple[int, int]:
        """Write beside an existing output nobody recorded and keep it if it is byte-identical to what we
        write: the output of an attempt that died before its record (a killed worker or job) is accepted,
        anything else is refused. The scratch file is named so that atomic writers clean it up if we die."""
        scratch = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(6)}{target.suffix}")
        try:
            result = self._work(source, scratch, progress)
            if not filecmp.cmp(scratch, target, shallow=False):
                raise OutputExistsError(f"{target} exists (use --overwrite or --skip-existing)")
            return result
        finally:
            scratch.unlink(missing_ok=True)

    def _work(self, source: Path, target: Path, progress: Progress | None) -> tuple[int, int]:
        """Write the output; (pixels of the image, bytes of carried metadata)."""
        options = self.options
        if isinstance(options.coding, EncodeOptions):
            from ..api import encode

            result = encode(source, target, options.coding, progress=progress)
            return result.width * result.height, result.metadata_bytes
        from ..tadm_file import TadmFile

        with TadmFile(source, options.coding) as tadm:
            tadm.save(target, box=options.box, progress=progress)
            return tadm.header.width * tadm.header.height, tadm.metadata.stored_bytes


def one_line(err: BaseException) -> str:
    """An error's message as one line (its first; the type's name when it has none)."""
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def _record(
    source: Path,
    target: Path,
    status: str,
    start: float,
    options: BatchOptions,
    pixels: int = 0,
    metadata_bytes: int = 0,
    error: str = "",
    error_type: str = "",
) -> dict[str, Any]:
    """A manifest record: both files' sizes (and with fixity their SHA-256), the model and scale of the
    container, bpp."""
    from ..api import read_header

    record: dict[str, Any] = {"input": str(source), "output": str(target), "status": status}
    if source.is_file():
        record["input_bytes"] = source.stat().st_size
        if options.fixity:
            record["input_sha256"] = file_sha256(source)
    if status == "failed":
        return record | {"error": error, "error_type": error_type, "seconds": round(time.perf_counter() - start, 3)}
    if status == "skipped":
        return record | {"seconds": 0.0}
    container = target if target.suffix == ".tadm" else source
    header = read_header(container)
    if options.fixity:
        record["output_sha256"] = file_sha256(target)
    return record | {
        "output_bytes": target.stat().st_size,
        "scale": header.scale,
        "model": header.model_id,
        "model_sha256": _model_sha256(header, options.coding),
        "pixels": pixels,
        "metadata_bytes": metadata_bytes,
        "bpp": round(8 * container.stat().st_size / max(pixels, 1), 5),
        "seconds": round(time.perf_counter() - start, 3),
    }


def _model_sha256(header: Header, coding: EncodeOptions | DecodeOptions) -> str:
    """The full SHA-256 of the model behind a container (a version 2 file stores its first 8 bytes): the
    model an encode ran (a name or, given as a folder, off the search path), else the installed model the
    file names, the one decoding used."""
    named = coding.model if isinstance(coding, EncodeOptions) and coding.model else None
    folder = resolve_model(named, allow_path=True) if named else resolve_model(header.model_id)
    return model_digest(folder).hex()

"""The fixity manifest of a batch output folder (`tadmcodec encode/decode ... --out-dir DIR`):
DIR/manifest.jsonl, one JSON line per input, appended as the job goes, as archives keep them.

A record: absolute input path, bytes and SHA-256; output path, bytes and SHA-256; scale, model id and
weight digest; pixels, metadata bytes and bpp; seconds; status (ok, failed or skipped) and the error
of a failure. Only the job's driver appends (Ray workers return their records to it). Each line is written with a
single append and flushed to disk, so a job killed at any moment leaves whole lines; a torn last line
is skipped on reading. The latest record of an input wins, so a rerun skips inputs whose output still
has its recorded SHA-256 and redoes the rest; `tadmcodec verify --manifest` audits every output (batch.audit).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tadmcodec_formats import TadmError, TadmReader

from ..hashing import file_sha256

MANIFEST_NAME = "manifest.jsonl"


def append(manifest: Path, record: dict[str, Any]) -> None:
    """Add one record as one whole line (one write on an O_APPEND descriptor, then fsync); after a torn
    line a killed job left, the record starts a line of its own."""
    line = (json.dumps(record, sort_keys=True) + "\n").encode("utf-8")
    descriptor = os.open(manifest, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(descriptor).st_size
        if size and os.pread(descriptor, 1, size - 1) != b"\n":
            line = b"\n" + line
        os.write(descriptor, line)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read(manifest: Path) -> dict[str, dict[str, Any]]:
    """input path -> its latest record; lines that do not parse (a torn last line) are skipped."""
    records: dict[str, dict[str, Any]] = {}
    if not manifest.is_file():
        return records
    for line in manifest.read_bytes().split(b"\n"):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "input" in record and "output" in record:
            for key in ("input", "output"):  # older manifests kept the paths as given, relative ones too
                record[key] = str(Path(record[key]).absolute())
            records[record["input"]] = record
    return records


def still_good(record: dict[str, Any] | None, source: Path, target: Path) -> bool:
    """The record says the input was done, and neither the input nor the output changed since."""
    return (record is not None and record.get("status") == "ok" and target.is_file()
            and record.get("output") == str(target) and record.get("output_sha256") == file_sha256(target)
            and record.get("input_sha256") == file_sha256(source))  # fmt: skip


def recorded_outputs(manifest: Path) -> list[dict[str, Any]]:
    """The latest records whose status is ok: the outputs the folder should hold."""
    return [record for record in read(manifest).values() if record.get("status") == "ok"]


def check_output(record: dict[str, Any]) -> str | None:
    """What is wrong with one recorded output, or None."""
    output = Path(record["output"])
    if not output.is_file():
        return f"{output}: missing"
    if file_sha256(output) != record["output_sha256"]:
        return f"{output}: SHA-256 differs from the manifest"
    if output.suffix == ".tadm":
        try:
            with TadmReader(output) as reader:
                reader.verify()
        except (TadmError, OSError) as err:
            return f"{output}: {type(err).__name__}: {err}"
    return None

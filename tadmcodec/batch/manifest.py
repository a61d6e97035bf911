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

from ..store.hashing import file_sha256

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
    return (
        record is not None
        and record.get("status") == "ok"
        and target.is_file()
        and record.get("output") == str(target)
        and record.get("output_sha256") == file_sha256(target)
        and record.get("input_sha256") == file_sha256(source)
    )


def recorded_outputs(manifest: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """(the latest ok records: the outputs the folder should hold, what is wrong with the manifest itself),
    read strictly for an audit: only a torn last line is skipped; any other line that is not a record
    (not JSON, not an object, without input, output and status, or ok without an output SHA-256) is a
    finding with its line number, as is an output outside the manifest's folder (not hashed) and a
    manifest with no ok record at all (an audit that checks nothing passes nothing)."""
    data = manifest.read_bytes()
    lines = data.split(b"\n")
    torn = lines[-1] if not data.endswith(b"\n") else None
    problems: list[str] = []
    latest: dict[str, dict[str, Any]] = {}
    folder = manifest.parent.resolve()
    for number, line in enumerate(lines, 1):
        if not line.strip() or (line is torn and number == len(lines)):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not _is_record(record):
            problems.append(f"{manifest}:{number}: not a manifest record")
            continue
        output = Path(record["output"]).absolute()
        if not output.resolve().is_relative_to(folder):
            problems.append(f"{manifest}:{number}: {output} is outside the manifest's folder {folder}: not checked")
            continue
        latest[str(Path(record["input"]).absolute())] = record | {"output": str(output)}
    outputs = [record for record in latest.values() if record["status"] == "ok"]
    if not outputs:
        problems.append(f"{manifest}: no output recorded as done: nothing to audit")
    return outputs, problems


def _is_record(record: Any) -> bool:
    if not isinstance(record, dict) or not all(isinstance(record.get(k), str) for k in ("input", "output", "status")):
        return False
    digest = record.get("output_sha256")
    has_digest = isinstance(digest, str) and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)
    return record["status"] != "ok" or has_digest


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

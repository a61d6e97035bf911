"""SHA-256 of files and folders: pinned backbone hashes and the model digest stored in containers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .errors import MissingWeightsError

DIGEST_SUFFIXES = {".json", ".safetensors", ".txt"}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_hashes(folder: Path, parts: tuple[str, ...] = ("",)) -> dict[str, str]:
    """relative path -> SHA-256 for the weight and config files under the given subfolders."""
    hashes = {}
    for part in parts:
        for path in sorted((folder / part).rglob("*")):
            if path.is_file() and path.suffix in DIGEST_SUFFIXES and not path.name.startswith("."):
                hashes[path.relative_to(folder).as_posix()] = file_sha256(path)
    return hashes


def manifest_digest(hashes: dict[str, str]) -> bytes:
    """One SHA-256 over a sorted 'path hash' manifest."""
    manifest = "".join(f"{path} {value}\n" for path, value in sorted(hashes.items()))
    return hashlib.sha256(manifest.encode("utf-8")).digest()


def verify_pinned(folder: Path, table_path: Path, parts: tuple[str, ...] | None = None) -> dict[str, str]:
    """Check the files of a pinned table (JSON: {"files": {relpath: sha256}}), or those under `parts`;
    name each missing or differing file."""
    table = json.loads(table_path.read_text(encoding="utf-8"))["files"]
    if parts is not None:
        table = {name: value for name, value in table.items() if name.split("/")[0] in parts}
    unpinned = [name for name, value in table.items() if not value]
    if unpinned:
        raise MissingWeightsError(
            f"{table_path.name} has no pinned SHA-256 for {', '.join(unpinned)}: pin hashes from a trusted copy first"
        )
    missing = [name for name in table if not (folder / name).is_file()]
    if missing:
        raise MissingWeightsError(f"backbone folder {folder} lacks {', '.join(missing)} (pinned in {table_path.name})")
    actual = {name: file_sha256(folder / name) for name in table}
    differing = [name for name, value in table.items() if actual[name] != value]
    if differing:
        raise MissingWeightsError(
            f"backbone folder {folder}: SHA-256 differs from the pinned value for {', '.join(differing)}"
        )
    return actual

"""SHA-256 of files and folders: pinned backbone hashes and the model digest stored in containers; weight
links, which let released folders share identical weight files.

A weight link `NAME.link` stands for the file NAME: JSON {"target": path relative to the link's folder,
"sha256": NAME's hash}. Either NAME is byte-identical to the target, or (with "metadata") NAME held
the target's tensors under another safetensors header: NAME's bytes are then the target's tensors
serialized with that metadata (checked when the link is written). Readers open linked_file(path);
hashes and digests count NAME's bytes, rebuilt where needed, so a folder whose file became a link keeps
its digest (and old files decode), and a target whose content differs from the record is an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from ..errors import MissingWeightsError

DIGEST_SUFFIXES = {".json", ".safetensors", ".txt"}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class DigestCache:
    """Weight-file digests already computed, kept across processes by file identity (path, size,
    modification time in ns, inode) as git's index keeps its stat data: loading a model stops rehashing
    weights that have not changed (0.1-0.2 s for the tiny backbone, minutes for SD 2.1's 5 GB).
    A file rewritten in place to the same size and time escapes it; TADMCODEC_DIGEST_CACHE=off hashes
    every time. The file (TADMCODEC_DIGEST_CACHE, default $XDG_CACHE_HOME or ~/.cache /
    tadmcodec/digests.json) is replaced atomically; one that cannot be read or written is ignored."""

    def __init__(self) -> None:
        self._entries: dict[str, list] | None = None
        self._lock = threading.Lock()

    @staticmethod
    def location() -> Path | None:
        chosen = os.environ.get("TADMCODEC_DIGEST_CACHE")
        if chosen is not None:
            return None if chosen in ("", "off") else Path(chosen)
        return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tadmcodec" / "digests.json"

    def sha256(self, paths: tuple[Path, ...], compute: Callable[[], str]) -> str:
        """compute()'s digest of content read from paths, from the cache while none of them changed."""
        location = self.location()
        if location is None:
            return compute()
        key = "\0".join(str(p.resolve()) for p in paths)
        identity = [[s.st_size, s.st_mtime_ns, s.st_ino] for s in (p.stat() for p in paths)]
        with self._lock:
            entries = self._load(location)
            cached = entries.get(key)
            if cached is not None and cached[0] == identity:
                return cached[1]
        value = compute()
        with self._lock:
            entries[key] = [identity, value]
            self._save(location, entries)
        return value

    def _load(self, location: Path) -> dict[str, list]:
        if self._entries is None:
            try:
                entries = json.loads(location.read_text(encoding="utf-8"))
                self._entries = entries if isinstance(entries, dict) else {}
            except (OSError, ValueError):
                self._entries = {}
        return self._entries

    @staticmethod
    def _save(location: Path, entries: dict[str, list]) -> None:
        """Write the entries of files that still exist (the file stays as small as the models in use)."""
        for key in [k for k in entries if not all(os.path.exists(p) for p in k.split("\0"))]:
            del entries[key]
        try:
            location.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=location.parent, delete=False, suffix=".part") as handle:
                json.dump(entries, handle)
            os.replace(handle.name, location)
        except OSError:
            pass


DIGESTS = DigestCache()


def weight_sha256(path: Path) -> str:
    """file_sha256 of a weight or config file, through the digest cache."""
    return DIGESTS.sha256((path,), lambda: file_sha256(path))


LINK_SUFFIX = ".link"


def _record(link: Path) -> dict:
    try:
        record = json.loads(link.read_text(encoding="utf-8"))
        if not isinstance(record, dict) or not isinstance(record.get("target"), str):
            raise ValueError("no target")
        return record
    except (OSError, ValueError) as err:
        raise MissingWeightsError(f"unreadable weight link {link}: {err}") from None


def linked_file(path: Path) -> Path:
    """path itself, or the target of its weight link (path + ".link") when only the link exists."""
    link = path.with_name(path.name + LINK_SUFFIX)
    if path.is_file() or not link.is_file():
        return path
    resolved = (link.parent / _record(link)["target"]).resolve()
    if not resolved.is_file():
        raise MissingWeightsError(f"weight link {link} names {resolved}, which does not exist")
    return resolved


def _resaved(target: Path, metadata: dict[str, str] | None) -> bytes:
    """The target's tensors serialized with another safetensors header (numpy: no torch needed)."""
    from safetensors.numpy import load_file, save

    return save(load_file(target), metadata=metadata)


def tensor_sha256(path: Path) -> str:
    """SHA-256 of a safetensors file's tensors serialized without metadata: equal for files that hold the
    same tensors under different headers (write_link can link those)."""
    return hashlib.sha256(_resaved(path, None)).hexdigest()


def linked_bytes(link: Path) -> bytes:
    """The bytes of the file a weight link stands for."""
    record, target = _record(link), linked_file(link.with_name(link.name.removesuffix(LINK_SUFFIX)))
    return _resaved(target, record["metadata"]) if "metadata" in record else target.read_bytes()


def linked_sha256(link: Path) -> str:
    """The SHA-256 of the file a weight link stands for, checked against the hash the link records."""
    record = _record(link)
    target = linked_file(link.with_name(link.name.removesuffix(LINK_SUFFIX)))
    if "metadata" in record:
        actual = DIGESTS.sha256((link, target), lambda: hashlib.sha256(linked_bytes(link)).hexdigest())
    else:
        actual = weight_sha256(target)
    if actual != record.get("sha256"):
        raise MissingWeightsError(
            f"weight link {link}: its target gives SHA-256 {actual}, the link records {record.get('sha256')}"
        )
    return actual


def write_link(path: Path, target: Path) -> None:
    """Replace the file `path` by a weight link to `target`: a byte-identical file, or a safetensors file
    with the same tensors under another header (ValueError otherwise; `path` is then kept)."""
    record = {
        "target": Path(os.path.relpath(target.resolve(), path.parent.resolve())).as_posix(),
        "sha256": file_sha256(path),
    }
    if record["sha256"] != file_sha256(target):
        from safetensors import safe_open

        with safe_open(str(path), "np") as handle:
            metadata = handle.metadata()
        if hashlib.sha256(_resaved(target, metadata)).hexdigest() != record["sha256"]:
            raise ValueError(f"{path} and {target} hold different weights")
        record["metadata"] = metadata
    path.with_name(path.name + LINK_SUFFIX).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    path.unlink()


def copy_weight_file(path: Path, destination: Path) -> None:
    """Copy the weight file `path` to destination: the file itself, or the exact bytes its weight link
    stands for (a link would not resolve from the copy's place)."""
    link = path.with_name(path.name + LINK_SUFFIX)
    if path.is_file() or not link.is_file():
        shutil.copy2(path, destination)
    else:
        destination.write_bytes(linked_bytes(link))


def copy_resolving_links(
    source: Path, target: Path, ignore: Callable[[str, list[str]], set[str]] | None = None
) -> None:
    """shutil.copytree of source into target (existing folders merged) with every weight link replaced by a
    copy of the file it stands for: a link's relative target would not resolve from the copy."""

    def skip(folder: str, names: list[str]) -> set[str]:
        return (set(ignore(folder, names)) if ignore else set()) | {n for n in names if n.endswith(LINK_SUFFIX)}

    shutil.copytree(source, target, ignore=skip, dirs_exist_ok=True)
    for link in source.rglob("*" + LINK_SUFFIX):
        relative = link.relative_to(source).with_name(link.name.removesuffix(LINK_SUFFIX))
        if ignore and relative.name in ignore(str(link.parent), [relative.name]):
            continue
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        copy_weight_file(source / relative, target / relative)


def folder_hashes(folder: Path, parts: tuple[str, ...] = ("",)) -> dict[str, str]:
    """relative path -> SHA-256 for the weight and config files under the given subfolders (a weight link
    counts as the file it stands for)."""
    hashes = {}
    for part in parts:
        for path in sorted((folder / part).rglob("*")):
            if not path.is_file() or path.name.startswith("."):
                continue
            if path.suffix == LINK_SUFFIX and Path(path.stem).suffix in DIGEST_SUFFIXES:
                hashes[path.relative_to(folder).as_posix().removesuffix(LINK_SUFFIX)] = linked_sha256(path)
            elif path.suffix in DIGEST_SUFFIXES:
                hashes[path.relative_to(folder).as_posix()] = weight_sha256(path)
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
    missing = [name for name in table if not linked_file(folder / name).is_file()]
    if missing:
        raise MissingWeightsError(f"backbone folder {folder} lacks {', '.join(missing)} (pinned in {table_path.name})")
    actual = {name: weight_sha256(linked_file(folder / name)) for name in table}
    differing = [name for name, value in table.items() if actual[name] != value]
    if differing:
        raise MissingWeightsError(
            f"backbone folder {folder}: SHA-256 differs from the pinned value for {', '.join(differing)}"
        )
    return actual

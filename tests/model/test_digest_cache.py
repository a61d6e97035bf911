"""The weight-digest cache: unchanged files are not rehashed (within and across processes), changed ones
are, and a cache that cannot be read or written never changes a digest."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from tadmcodec.store import hashing
from tadmcodec.store.hashing import DigestCache


def _weights(tmp_path: Path, content: bytes = b"weights-one") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "diffusion_pytorch_model.safetensors"
    path.write_bytes(content)
    return path


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record every real hash of a file (the cache's misses)."""
    calls: list[Path] = []
    real = hashing.file_sha256

    def counted(path: Path) -> str:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(hashing, "file_sha256", counted)
    return calls


def test_an_unchanged_file_is_hashed_once_even_in_a_new_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TADMCODEC_DIGEST_CACHE", str(tmp_path / "cache" / "digests.json"))
    monkeypatch.setattr(hashing, "DIGESTS", DigestCache())
    calls, path = _counting(monkeypatch), _weights(tmp_path)
    expected = hashlib.sha256(b"weights-one").hexdigest()
    assert hashing.weight_sha256(path) == expected and hashing.weight_sha256(path) == expected
    monkeypatch.setattr(hashing, "DIGESTS", DigestCache())  # a new process reads the saved cache
    assert hashing.weight_sha256(path) == expected
    assert calls == [path]


def test_a_changed_file_is_hashed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TADMCODEC_DIGEST_CACHE", str(tmp_path / "digests.json"))
    monkeypatch.setattr(hashing, "DIGESTS", DigestCache())
    path = _weights(tmp_path)
    hashing.weight_sha256(path)
    stat = path.stat()
    path.write_bytes(b"weights-two")  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))  # even one nanosecond later
    assert hashing.weight_sha256(path) == hashlib.sha256(b"weights-two").hexdigest()


@pytest.mark.parametrize("setting", ["off", "unreadable", "unwritable"])
def test_a_cache_off_or_broken_gives_the_true_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    location = tmp_path / "digests.json"
    if setting == "unreadable":
        location.write_text("{not json")
    if setting == "unwritable":
        location = tmp_path / "a-file" / "digests.json"  # its folder cannot be made: a file is in the way
        (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("TADMCODEC_DIGEST_CACHE", "off" if setting == "off" else str(location))
    monkeypatch.setattr(hashing, "DIGESTS", DigestCache())
    calls, path = _counting(monkeypatch), _weights(tmp_path)
    for _ in range(2):
        assert hashing.weight_sha256(path) == hashlib.sha256(b"weights-one").hexdigest()
    assert len(calls) == (2 if setting == "off" else 1)  # a broken file still caches within the process


def test_entries_of_removed_files_are_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    location = tmp_path / "digests.json"
    monkeypatch.setenv("TADMCODEC_DIGEST_CACHE", str(location))
    monkeypatch.setattr(hashing, "DIGESTS", DigestCache())
    first, second = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    hashing.weight_sha256(first)
    first.unlink()
    hashing.weight_sha256(second)
    assert list(json.loads(location.read_text())) == [str(second.resolve())]

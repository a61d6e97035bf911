"""Atomic file output: write beside the target, then rename, so no reader ever sees half a file.

Temporary files are named `.TARGET.PID-RANDOM.part`, and a writer's spool folders `.tadm-KIND-PID-...`
(the pyramidal TIFF writer's reduced levels); one whose process no longer runs (it was killed with
SIGKILL, or the machine stopped) is removed by the next process that writes into the same folder. A
process lists a folder for them at its first write there and again only after RESCAN_SECONDS, so a
batch writing thousands of files into one folder lists it once, not once per file.

Inside no_clobber() (what a command does without --overwrite), commit publishes with a hard link, which
fails when the target exists: of two writers racing to one new path exactly one wins, and the other
gets FileExistsError, never a silent replacement. Where the file system has no hard links, the rename
follows an existence check (the race is then narrowed, not closed).
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import BinaryIO

_NO_CLOBBER: ContextVar[bool] = ContextVar("no_clobber", default=False)


@contextmanager
def no_clobber() -> Iterator[None]:
    """Within this context, AtomicFile commits refuse to replace an existing target (FileExistsError)."""
    token = _NO_CLOBBER.set(True)
    try:
        yield
    finally:
        _NO_CLOBBER.reset(token)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def remove_stale(folder: Path, prefix: str) -> None:
    """Remove `prefix + PID-...` files and folders in `folder` whose process is gone."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)-")
    for path in folder.glob(f"{glob_escape(prefix)}*"):
        match = pattern.match(path.name)
        if match and not process_alive(int(match.group(1))):
            if path.is_dir() and not path.is_symlink():
                for child in path.iterdir():
                    child.unlink(missing_ok=True)
                path.rmdir()
            else:
                path.unlink(missing_ok=True)


RESCAN_SECONDS = 60.0
_TEMPORARY = re.compile(r"\.(.+)\.(\d+)-[0-9a-f]+\.part")
_SPOOL = re.compile(r"\.tadm-[a-z]+-(\d+)-.*")
_LAST_SCAN: dict[Path, float] = {}  # folder -> when this process last removed dead temporaries there


def remove_dead_part_files(folder: Path) -> None:
    """Remove every `.TARGET.PID-RANDOM.part` in folder whose process is gone (one listing), unless this
    process did so less than RESCAN_SECONDS ago."""
    now = time.monotonic()
    if now - _LAST_SCAN.get(folder, -RESCAN_SECONDS) < RESCAN_SECONDS:
        return
    _LAST_SCAN[folder] = now
    with os.scandir(folder) as entries:
        for entry in entries:
            match = _TEMPORARY.fullmatch(entry.name)
            if match and not process_alive(int(match.group(2))):
                Path(entry.path).unlink(missing_ok=True)
            spool = _SPOOL.fullmatch(entry.name)
            if spool and entry.is_dir(follow_symlinks=False) and not process_alive(int(spool.group(1))):
                shutil.rmtree(entry.path, ignore_errors=True)


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


class AtomicFile:
    """A temporary file in the target's folder that replaces the target on commit() only."""

    def __init__(self, target: str | os.PathLike[str]) -> None:
        self.target = Path(target)
        remove_dead_part_files(self.target.parent.absolute())
        self.temp_path = self.target.with_name(f".{self.target.name}.{os.getpid()}-{secrets.token_hex(6)}.part")
        self.file: BinaryIO = open(self.temp_path, "x+b")  # noqa: SIM115 - closed by commit/discard

    def commit(self) -> None:
        """Flush to disk and move into place (inside no_clobber(), only where nothing is); the temporary
        is removed whatever happens."""
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            if _NO_CLOBBER.get():
                self._publish_new()
            else:
                os.replace(self.temp_path, self.target)
        finally:
            self.file.close()
            self.temp_path.unlink(missing_ok=True)

    def _publish_new(self) -> None:
        try:
            os.link(self.temp_path, self.target)
        except FileExistsError:
            raise FileExistsError(errno.EEXIST, "exists", str(self.target)) from None
        except OSError:  # no hard links here (some network and FAT file systems)
            if os.path.lexists(self.target):
                raise FileExistsError(errno.EEXIST, "exists", str(self.target)) from None
            os.rename(self.temp_path, self.target)

    def discard(self) -> None:
        """Drop the temporary file; the target is left as it was."""
        self.file.close()
        self.temp_path.unlink(missing_ok=True)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()

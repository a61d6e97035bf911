"""One batch per output folder: two batches writing into one --out-dir would race on its outputs and
interleave its manifest, so a batch holds `.tadmcodec-batch.lock` there while it plans and runs.

The lock is an advisory flock on that file, which records the holder's pid and host for the message a
second batch gets. The kernel releases it when the holder dies, however it dies, so a stale lock (the
file a killed batch left) is simply taken over; a holder removes the file when it ends cleanly. POSIX.
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import BatchLockedError

LOCK_NAME = ".tadmcodec-batch.lock"


@contextmanager
def batch_lock(folder: Path) -> Iterator[None]:
    """Hold the folder's batch lock (creating the folder); BatchLockedError if another batch holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(descriptor, 200).decode(errors="replace").split()
            os.close(descriptor)
            who = f"pid {holder[0]} on {holder[1]}" if len(holder) == 2 else "another process"
            raise BatchLockedError(f"{folder} is in use by another batch ({who}); wait for it to end") from None
        if _same_file(descriptor, path):
            break
        os.close(descriptor)  # the holder ended and removed the file between our open and our lock
    try:
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()} {socket.gethostname()}\n".encode())
        yield
    finally:
        os.unlink(path)  # while still holding it, so nobody locks a file that is gone
        os.close(descriptor)


def _same_file(descriptor: int, path: Path) -> bool:
    try:
        return os.fstat(descriptor).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False

"""Atomic file output: write beside the target, then rename, so no reader ever sees half a file."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import BinaryIO


class AtomicFile:
    """A temporary file in the target's folder that replaces the target on commit() only."""

    def __init__(self, target: str | os.PathLike[str]) -> None:
        self.target = Path(target)
        self.temp_path = self.target.with_name(f".{self.target.name}.{secrets.token_hex(6)}.part")
        self.file: BinaryIO = open(self.temp_path, "x+b")  # noqa: SIM115 - closed by commit/discard

    def commit(self) -> None:
        """Flush to disk and move into place."""
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.temp_path, self.target)

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

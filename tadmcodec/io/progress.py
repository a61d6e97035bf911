"""The progress protocol the pipeline reports to: tqdm bars satisfy it, so the CLI shows totals and ETAs."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Told the total amount of work once (reset), then each piece done (update)."""

    def reset(self, total: int | None = None) -> None: ...

    def update(self, n: int = 1) -> object: ...

"""The local engine: the files one after another in this process, with a progress bar per file."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from tqdm import tqdm

from .jobs import BatchOptions, FileCoder, FileJob


def run_local(jobs: list[FileJob], options: BatchOptions, quiet: bool) -> Generator[dict[str, Any] | None]:
    """Each job's record in order (None for an output the manifest keeps)."""
    coder = FileCoder(options)
    for job in jobs:
        with tqdm(desc=job.source.name, unit="patch", disable=quiet, leave=False) as patches:
            yield coder(job, patches)

"""What a batch run did: this run's manifest records, summed up."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class BatchReport:
    """The records this run wrote (kept intact outputs leave none), the wall time, and whether the job
    stopped early because failures exceeded max_failures."""

    operation: str
    out_dir: Path | None
    engine: str
    records: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    stopped_early: bool = False
    kept: int = 0

    def _with(self, status: str) -> list[dict[str, Any]]:
        return [record for record in self.records if record["status"] == status]

    @property
    def done(self) -> int:
        return len(self._with("ok"))

    @property
    def failed(self) -> list[dict[str, Any]]:
        return self._with("failed")

    @property
    def skipped(self) -> int:
        return len(self._with("skipped"))

    @property
    def ok(self) -> bool:
        return not self.failed and not self.stopped_early

    def summary(self) -> str:
        """One line, as the CLI prints it: files, failures, bytes, bits per pixel, time."""
        done = self._with("ok")
        bytes_in = sum(record["input_bytes"] for record in done)
        bytes_out = sum(record["output_bytes"] for record in done)
        pixels = max(sum(record["pixels"] for record in done), 1)
        metadata = sum(record["metadata_bytes"] for record in done)
        tadm_bytes = bytes_out if self.operation == "encode" else bytes_in
        text = (
            f"{self.operation}d {len(done)} file(s), {len(self.failed)} failed: {bytes_in} bytes in, "
            f"{bytes_out} bytes out, {8 * tadm_bytes / pixels:.4f} bpp "
            f"({8 * (tadm_bytes - metadata) / pixels:.4f} without {metadata} bytes of metadata), "
            f"{self.seconds:.1f} s"
        )
        extras = [
            f"{self.kept} kept from an earlier run" if self.kept else "",
            f"{self.skipped} skipped (existing)" if self.skipped else "",
            "stopped: too many failures" if self.stopped_early else "",
        ]
        return "; ".join([text, *filter(None, extras)])

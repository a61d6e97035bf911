"""Output of the measurement tools: one JSON object, printed, and written to a file when asked."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any


def cpu() -> str:
    """lscpu's model name, CPU count and vector flags: what an absolute speed figure is quoted beside."""
    listing = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    fields = dict(line.split(":", 1) for line in listing.splitlines() if ":" in line)
    flags = [f for f in fields.get("Flags", "").split() if f.startswith(("avx", "fma", "amx"))]
    return f"{fields.get('Model name', '?').strip()}, {fields.get('CPU(s)', '?').strip()} CPUs, {' '.join(flags)}"


def emit(report: dict[str, Any], out: Path | None) -> None:
    """Print the report as indented JSON and, with `out`, write the same text there."""
    text = json.dumps(report, indent=1)
    print(text)
    if out:
        out.write_text(text + "\n")

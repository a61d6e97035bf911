"""Output of the measurement tools: one JSON object, printed, and written to a file when asked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def emit(report: dict[str, Any], out: Path | None) -> None:
    """Print the report as indented JSON and, with `out`, write the same text there."""
    text = json.dumps(report, indent=1)
    print(text)
    if out:
        out.write_text(text + "\n")

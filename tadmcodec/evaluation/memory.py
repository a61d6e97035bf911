"""Peak memory of the running process, for benchmarks that run each measurement in a fresh process."""

from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_mb() -> float:
    """Peak resident memory in MB: VmHWM on Linux, which (unlike ru_maxrss) does not inherit the RSS
    the parent had when it started this process."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

"""Speed of two checkouts side by side in one run, alternating, on the same machine and images (issue 15).

    python -m tools.bench.versions --old OLD_SITE --new NEW_SITE [--repeat 3] [--large] [--scale 32]

A SITE is a folder where `tadmcodec`, `tadmcodec_formats` and `tadmcodec_plugins` import from (links to
a checkout's tadmcodec/, formats/ and plugins/); each measurement is a fresh process with that folder
first on PYTHONPATH, on files its own default model of the scale (16x unless --scale 32) wrote.
Measured: the CLI decoding a 64 x 48 file (start-up: the model's work is negligible); the CLI decoding
a 1 MP image; `tadmcodec info`, `verify` and `thumbnail --out-dir` over 1000 files; with --large, a 12
MP photo-like image encoded and decoded in process through the public API (tadmcodec.encode / decode:
each version's default model and default runtime, models loaded before timing), in MP/s. Prints a JSON object:
per measurement, the median seconds of each version and new/old.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

IN_PROCESS = """
import sys, time, tadmcodec
from tadmcodec.evaluation.speed import synthetic
image = synthetic(int(sys.argv[1]))
tadmcodec.encode(image[:64, :64], "warm.tadm", scale=int(sys.argv[2]))
tadmcodec.decode("warm.tadm")
start = time.perf_counter(); tadmcodec.encode(image, "large.tadm", scale=int(sys.argv[2]))
encode = time.perf_counter() - start
start = time.perf_counter(); tadmcodec.decode("large.tadm", as_array=True)
print(encode, time.perf_counter() - start)
"""


def photo(width: int, height: int) -> Image.Image:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:height, :width]
    base = np.stack([xx % 311 * 0.8, yy % 197 * 1.2, (xx + yy) % 256], -1) + rng.normal(0, 12, (height, width, 3))
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))


def timed(site: Path, arguments: list[str], cwd: Path) -> float | None:
    """Seconds the command took, or None where this version's CLI does not know it (argparse's exit 2:
    `thumbnail --out-dir` over many files came with 19d0057)."""
    environment = os.environ | {"PYTHONPATH": str(site)}
    start = time.perf_counter()
    result = subprocess.run([sys.executable, *arguments], cwd=cwd, env=environment, capture_output=True, text=True)
    if result.returncode == 2 and "unrecognized arguments" in result.stderr:
        return None
    if result.returncode != 0:
        raise SystemExit(f"{site}: {' '.join(arguments)} failed: {result.stderr[-2000:]}")
    return time.perf_counter() - start


def write_files(site: Path, folder: Path, scale: int) -> None:
    """The benchmark's files, encoded by the version at `site` with its default model: a 64 x 48 file, a
    1 MP file and 1000 copies of the small one under many/."""
    (folder / "many").mkdir(parents=True)
    for name, size in (("tiny", (64, 48)), ("one-mp", (1152, 864))):
        photo(*size).save(folder / f"{name}.png")
        command = ["-m", "tadmcodec", "encode", f"{name}.png", f"{name}.tadm", "--scale", str(scale)]
        subprocess.run(
            [sys.executable, *command],
            cwd=folder,
            env=os.environ | {"PYTHONPATH": str(site)},
            check=True,
            capture_output=True,
        )
    for index in range(1000):
        shutil.copy(folder / "tiny.tadm", folder / "many" / f"{index:04d}.tadm")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True)
    parser.add_argument("--new", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--large", action="store_true", help="also the 12 MP in-process encode and decode")
    parser.add_argument("--scale", type=int, default=16, choices=(16, 32), help="the files' scale")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-versions-"))
    for version in ("old", "new"):
        write_files(getattr(args, version), work / version, args.scale)
    cli = ["-m", "tadmcodec"]
    files = sorted(str(p.relative_to(work / "new")) for p in (work / "new" / "many").iterdir())
    cases = {
        "cli decode 64x48 (start-up)": [*cli, "decode", "tiny.tadm", "tiny-out.png", "--overwrite", "--quiet"],
        "cli decode 1 MP": [*cli, "decode", "one-mp.tadm", "one-mp-out.png", "--overwrite", "--quiet"],
        "info of 1000 files": [*cli, "info", *files],
        "verify of 1000 files": [*cli, "verify", *files],
        "thumbnail of 1000 files": [*cli, "thumbnail", *files, "--out-dir", "thumbnails", "--overwrite"],
    }
    times: dict[str, dict[str, list[float]]] = {case: {"old": [], "new": []} for case in cases}
    for _ in range(args.repeat):
        for case, arguments in cases.items():
            for version in ("old", "new"):
                times[case][version].append(timed(getattr(args, version), arguments, work / version))
    report = {
        case: {v: None if None in t else round(statistics.median(t), 3) for v, t in versions.items()}
        for case, versions in times.items()
    }
    if args.large:
        for version in ("old", "new"):
            environment = os.environ | {"PYTHONPATH": str(getattr(args, version))}
            # cwd: `python -c` puts the working directory first on sys.path, before the SITE (a run from a
            # checkout measured that checkout twice)
            command = [sys.executable, "-c", IN_PROCESS, "3464", str(args.scale)]
            out = subprocess.run(
                command, env=environment, cwd=work / version, capture_output=True, text=True, check=True
            ).stdout.split()
            report.setdefault("12 MP in-process MP/s (encode, decode)", {})[version] = [
                round(12.0 / float(v), 3) for v in out
            ]
    for row in report.values():
        if all(isinstance(v, float) for v in row.values()):
            row["new/old"] = round(row["new"] / row["old"], 3)
    print(json.dumps(report, indent=1))
    shutil.rmtree(work)


if __name__ == "__main__":
    main()

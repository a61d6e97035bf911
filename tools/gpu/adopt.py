"""Back on the CPU machine: validate what a GPU train run returned and, if it beats the shipped release
on the realism targets, ship it under new names (the frozen-weights policy).

    python -m tools.gpu.adopt /work/.device/.../out --val ../shared/data/val/bsd100 [--release r3]

Joins results.tar.gz.NN, extracts them to runs/gpu-adopt/<time>/, validates every returned model and
the shipped default of its scale on all of the validation images (tadmcodec.evaluation.validate, with
SSIMULACRA2), and prints a table of the issue's realism targets for both. With --release SUFFIX, each
model that meets more targets than the shipped one while keeping its PSNR-Y gain target is copied into
the package as default-<scale>x-SUFFIX with its backbone as tiny-backbone-SUFFIX, gets a reference file
(tests/quality/reference) and becomes the default of its scale (tadmcodec/weights/defaults.json).
Existing names are never overwritten.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

from tadmcodec.codec import Codec
from tadmcodec.evaluation.validate import named_images, validate
from tadmcodec.model_folder import load_model_folder
from tadmcodec.registry import DEFAULTS_FILE, PACKAGE_WEIGHTS, default_models

ROOT = Path(__file__).resolve().parents[2]
# Issue 13's targets on BSD100 against bicubic at the same LR size: (key, scale 16, scale 32, higher is better).
TARGETS = [
    ("psnr_y_gain", 1.0, 0.8, True),
    ("ssimulacra2_gain", 30.0, 60.0, True),
    ("detail_ratio", 0.3, 0.25, True),
    ("lr_psnr_vs_area", 36.0, 36.0, True),
    ("spearman", 0.4, 0.3, True),
    ("grid_excess", 0.05, 0.05, False),
]


def extract(results: Path, into: Path) -> Path:
    """Join the returned parts and unpack them; the folder holding the model folders."""
    parts = sorted(results.glob("results.tar.gz.*"))
    if not parts:
        raise SystemExit(f"no results.tar.gz.NN parts in {results}")
    data = b"".join(part.read_bytes() for part in parts)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(into, filter="data")
    return into / "results"


def figures(measured: dict[str, Any]) -> dict[str, float]:
    """The target figures of a validation result."""
    mean, gain = measured["mean"]["tadm"], measured["gain_over_bicubic"]
    return {"psnr_y_gain": gain["psnr_y"], "ssimulacra2_gain": gain.get("ssimulacra2", float("nan")),
            "detail_ratio": mean["detail_ratio"], "lr_psnr_vs_area": mean["lr_psnr_vs_area"],
            "spearman": measured["timesteps"]["spearman_t_vs_hf_energy_mean_per_image"] or float("nan"),
            "grid_excess": max(mean["grid_h"], mean["grid_v"])}  # fmt: skip


def met(values: dict[str, float], scale: int) -> dict[str, bool]:
    column = 1 if scale == 16 else 2
    return {t[0]: (values[t[0]] >= t[column]) if t[3] else (values[t[0]] < t[column]) for t in TARGETS}


def release(folder: Path, backbone: Path, scale: int, suffix: str) -> str:
    """Copy a model (and its backbone, once) into the package under new names; reference; default."""
    name, backbone_name = f"default-{scale}x-{suffix}", f"tiny-backbone-{suffix}"
    target, target_backbone = PACKAGE_WEIGHTS / name, PACKAGE_WEIGHTS / backbone_name
    if target.exists():
        raise SystemExit(f"{target} exists: released names are never reused")
    if not target_backbone.exists():
        shutil.copytree(backbone, target_backbone)
    shutil.copytree(folder, target)
    (target / "backbone.json").write_text(json.dumps({"path": f"../{backbone_name}", "pinned": None}, indent=1))
    reference = ROOT / "tests" / "quality" / "reference" / "make_reference.py"
    subprocess.run([sys.executable, str(reference), name], check=True)
    defaults = default_models() | {scale: name}
    DEFAULTS_FILE.write_text(json.dumps({str(k): v for k, v in sorted(defaults.items())}, indent=1) + "\n")
    return name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="the folder the device run's files came back to")
    parser.add_argument("--val", nargs="+", required=True)
    parser.add_argument("--limit", type=int, help="validate on the first N images only (not for a release)")
    parser.add_argument("--release", metavar="SUFFIX", help="ship the models that beat the shipped ones")
    args = parser.parse_args()
    if args.release and args.limit:
        raise SystemExit("a release is validated on every image: drop --limit")
    work = extract(args.results, ROOT / "runs" / "gpu-adopt" / time.strftime("%Y%m%d-%H%M%S"))
    images = named_images(args.val, args.limit)
    report: dict[str, Any] = {}
    for scale in (16, 32):
        candidate = work / f"default-{scale}x-r2"
        if not (candidate / "config.json").is_file():
            continue
        shipped = default_models()[scale]
        rows = {}
        for label, codec in (("shipped " + shipped, Codec.load(shipped)),
                             ("returned", Codec(load_model_folder(candidate, candidate.name)))):  # fmt: skip
            values = figures(validate(codec, images, len(images), None))
            rows[label] = {"figures": values, "met": met(values, scale)}
            print(f"{scale}x {label}: " + ", ".join(f"{k} {v:.3f}{'*' if rows[label]['met'][k] else ''}"
                                                    for k, v in values.items()))  # fmt: skip
        old, new = rows["shipped " + shipped], rows["returned"]
        better = sum(new["met"].values()) > sum(old["met"].values()) and new["met"]["psnr_y_gain"]
        report[f"{scale}x"] = rows | {"better": better}
        if args.release and better:
            report[f"{scale}x"]["released"] = release(candidate, work / "tiny-backbone-r2", scale, args.release)
    (work / "comparison.json").write_text(json.dumps(report, indent=1))
    print(f"comparison: {work / 'comparison.json'} (* = target met)")


if __name__ == "__main__":
    main()

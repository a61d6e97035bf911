"""Ship a trained model only when it beats the shipped one: compare both on every validation image
against issue 13's targets and, when asked, release the candidate under a new name (the frozen-weights
policy: a released model's files never change, a retrained one ships beside it).

    python -m tools.release runs/default-16x-r2/model --val ../shared/data/val/bsd100 \\
        [--shipped-validation FILE] [--release r2] [--allow-same [--waive FIGURE ...]]
    python -m tools.release CANDIDATE --perceptual COMPARE.json --release r11 [--keep-default]

The perceptual rule (issue 29, for a model that adds a texture prior to a released one): COMPARE.json is
`python -m tools.prior.compare`'s record of the candidate against the shipped default on every image of
a set; the candidate ships when its mean ST-LPIPS Alex is below the shipped model's beyond noise
(PERCEPTUAL_NOISE), its PSNR-Y stays at least FIDELITY_FLOOR above bicubic's (fidelity must not
collapse) and its 8-pixel grid excess stays under GRID_LIMIT (a texture that repeats on the latent
grid is a defect, whatever the perceptual distance says), or when it meets every row of issue 29's
target table that the record measures (perceptual_targets) and the previous model does not. Issue 13's
SSIMULACRA2 target is retired: on this range its scale is flat.

FILE is the shipped default's `python -m tadmcodec.evaluation.validate` result on the same images (to
reuse a run already made); without it the validation recorded at the shipped model's release is used
when it covers the same images, and otherwise the shipped model is validated here;
--candidate-validation reuses the candidate's (written beside it by an earlier run). The candidate meets
more targets while keeping the PSNR-Y target, or keeps every target the shipped model meets while no
figure falls and some rise beyond measurement noise (TOLERANCE), or (with --allow-same) gives the
shipped model's figures within that noise (a release that only adds an option, such as a dial, or
decodes faster by a new definition, such as z_hat per latent block); otherwise it is not released. A
release copies the model into the package as default-<scale>x-SUFFIX (its backbone too, as
tiny-backbone-SUFFIX, unless it already is a package backbone), writes its validation and the reference
file (tests/quality/reference) and the ONNX graphs the CPU decodes with (tadmcodec.runtime.graph_export), and
makes it the default of its scale (tadmcodec/weights/defaults.json) unless --keep-default (under the
perceptual rule, only when it meets every row of issue 29's table that the record measures).
Existing names are never overwritten; weight files holding the same tensors as a released one become
weight links to it (tadmcodec.store.hashing), so the package stores shared weights once.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tadmcodec.evaluation.validate import named_images, validate
from tadmcodec.runtime.codec import Codec
from tadmcodec.runtime.graph_export import export_graphs
from tadmcodec.runtime.onnx_networks import GRAPHS_FOLDER
from tadmcodec.store.folder import backbone_folder, write_backbone_reference
from tadmcodec.store.hashing import copy_resolving_links, file_sha256, tensor_sha256, write_link
from tadmcodec.store.registry import DEFAULTS_FILE, PACKAGE_WEIGHTS, default_models, resolve_model

ROOT = Path(__file__).resolve().parents[1]
# Issue 13's targets on BSD100 against bicubic at the same LR size: (key, scale 16, scale 32, higher is better).
TARGETS = [
    ("psnr_y_gain", 1.0, 0.8, True),
    ("ssimulacra2_gain", 30.0, 60.0, True),
    ("detail_ratio", 0.3, 0.25, True),
    ("lr_psnr_vs_area", 36.0, 36.0, True),
    ("spearman", 0.4, 0.3, True),
    ("grid_excess", 0.05, 0.05, False),
]
RECORDED = "validation-bsd100-all.json"  # a released model's validation, beside its weights
# How far a figure may move on BSD100 without counting as a change (rounding, thread-count noise).
TOLERANCE = {
    "psnr_y_gain": 0.02,
    "ssimulacra2_gain": 0.5,
    "detail_ratio": 0.002,
    "lr_psnr_vs_area": 0.05,
    "spearman": 0.01,
    "grid_excess": 0.01,
}


PERCEPTUAL_NOISE = 0.005
FIDELITY_FLOOR = 0.5  # dB of PSNR-Y above bicubic
GRID_LIMIT = 0.05
DETAIL_RANGE = {16: (0.5, 1.5), 32: (0.3, 1.5)}  # issue 29's detail-ratio rows
CLOSER_THAN_AVIF = 0.6  # the share of images on which the model must be closer (Alex) than avif-rescaled


def perceptual_targets(record: dict[str, Any], key: str) -> dict[str, bool]:
    """Which of issue 29's rows that a tools.prior.compare record measures the model under `key` ("model"
    or "previous") meets (the stored LR, checkerboard and speed rows are the base model's: a prior leaves
    them as they were)."""
    means = record["means"]
    own = means[key]
    low, high = DETAIL_RANGE[record["scale"]]
    closer = [row[key]["alex"] < row["avif-rescaled"]["alex"] for row in record["per_image"]]
    return {
        "alex_below_avif": own["alex"] < means["avif-rescaled"]["alex"],
        "closer_than_avif": sum(closer) >= CLOSER_THAN_AVIF * len(closer),
        "psnr_y_floor": own["psnr_y"] - means["bicubic"]["psnr_y"] >= FIDELITY_FLOOR,
        "detail_ratio": low <= own["detail"] <= high,
        "grid": own["grid"] < GRID_LIMIT,
    }


def perceptual_rule(record: dict[str, Any]) -> dict[str, Any]:
    """Issue 29's release rule on a tools.prior.compare record (see the module docstring)."""
    means = record["means"]
    gain = means["model"]["psnr_y"] - means["bicubic"]["psnr_y"]
    closer = means["model"]["alex"] < means["previous"]["alex"] - PERCEPTUAL_NOISE
    targets = {key: perceptual_targets(record, key) for key in ("model", "previous")}
    meets, previous_meets = all(targets["model"].values()), all(targets["previous"].values())
    kept = targets["model"]["psnr_y_floor"] and targets["model"]["grid"]  # fidelity and no latent-grid texture
    better = (closer and kept) or (meets and not previous_meets)
    return {
        "st_lpips_alex": means["model"]["alex"],
        "previous_st_lpips_alex": means["previous"]["alex"],
        "psnr_y_gain_over_bicubic": round(gain, 3),
        "grid_excess": means["model"]["grid"],
        "targets": targets["model"],
        "previous_targets": targets["previous"],
        "meets_targets": meets,
        "better": better,
    }


def figures(measured: dict[str, Any]) -> dict[str, float]:
    """The target figures of a validation result."""
    mean, gain = measured["mean"]["tadm"], measured["gain_over_bicubic"]
    return {
        "psnr_y_gain": gain["psnr_y"],
        "ssimulacra2_gain": gain.get("ssimulacra2", float("nan")),
        "detail_ratio": mean["detail_ratio"],
        "lr_psnr_vs_area": mean["lr_psnr_vs_area"],
        "spearman": measured["timesteps"]["spearman_t_vs_hf_energy_mean_per_image"] or float("nan"),
        "grid_excess": max(mean["grid_h"], mean["grid_v"]),
    }


def met(values: dict[str, float], scale: int) -> dict[str, bool]:
    column = 1 if scale == 16 else 2
    return {t[0]: (values[t[0]] >= t[column]) if t[3] else (values[t[0]] < t[column]) for t in TARGETS}


def compare(
    shipped: dict[str, Any], candidate: dict[str, Any], scale: int, waived: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Both validations' target figures, which targets each meets, and whether the candidate is better or
    the same. `waived` figures are left out of "same": a release that changes what a figure is measured
    over (a new patch grid changes the patches the Spearman correlation ranks) must still meet their
    targets, not repeat their values."""
    rows = {}
    for label, measured in (("shipped", shipped), ("candidate", candidate)):
        values = figures(measured)
        rows[label] = {"figures": values, "met": met(values, scale)}
        print(
            f"{scale}x {label}: "
            + ", ".join(f"{k} {v:.3f}{'*' if rows[label]['met'][k] else ''}" for k, v in values.items())
        )
    old, new = rows["shipped"]["met"], rows["candidate"]["met"]
    same = all(
        _within_noise(key, value, rows["candidate"]["figures"][key]) or (key in waived and (new[key] or not old[key]))
        for key, value in rows["shipped"]["figures"].items()
    )
    more_targets = sum(new.values()) > sum(old.values()) and new["psnr_y_gain"]
    return rows | {"better": bool(more_targets or forward(rows["shipped"], rows["candidate"])), "same": same}


def _within_noise(key: str, before: float, after: float) -> bool:
    return abs(after - before) <= TOLERANCE[key] or (math.isnan(before) and math.isnan(after))


def _merit(key: str, value: float) -> float:
    """A figure oriented so that higher is better. Grid excess counts only above zero: block edges a
    little smoother than the rest (a negative excess) show no grid, and the original photos sit near 0."""
    if key == "grid_excess":
        return -max(value, 0.0)
    return value if next(t[3] for t in TARGETS if t[0] == key) else -value


def forward(shipped: dict[str, Any], candidate: dict[str, Any]) -> bool:
    """The candidate keeps every target the shipped model meets, no figure falls by more than its
    tolerance (measurement noise on these images), and at least one figure rises by more than it."""
    keeps = all(candidate["met"][key] for key, met_before in shipped["met"].items() if met_before)
    changes = {
        key: _merit(key, candidate["figures"][key]) - _merit(key, value) for key, value in shipped["figures"].items()
    }
    no_worse = all(change >= -TOLERANCE[key] for key, change in changes.items())
    return keeps and no_worse and any(change > TOLERANCE[key] for key, change in changes.items())


def link_to_released(folder: Path) -> list[Path]:
    """Replace each weight file of `folder` (a new release) that holds the same tensors as a weight file of
    another released folder (byte-identical, or under another header), and each ONNX graph identical to a
    released one, by a weight link to that file; returns the replaced paths."""
    linked = []
    for pattern, identity in (("*.safetensors", tensor_sha256), ("*.onnx", file_sha256)):
        released = [path for path in sorted(PACKAGE_WEIGHTS.rglob(pattern)) if not path.is_relative_to(folder)]
        by_identity = {identity(path): path for path in released}
        for path in sorted(folder.rglob(pattern)):
            same = by_identity.get(identity(path))
            if same is not None:
                write_link(path, same)
                linked.append(path)
    return linked


def release(
    folder: Path,
    backbone: Path,
    scale: int,
    suffix: str,
    validation: dict[str, Any] | None = None,
    make_default: bool = True,
) -> str:
    """Copy a model (and its backbone, unless the package has it) into the package under new names; its
    graphs, validation and reference file; with make_default, the new default of its scale."""
    name = f"default-{scale}x-{suffix}"
    target = PACKAGE_WEIGHTS / name
    if target.exists():
        raise SystemExit(f"{target} exists: released names are never reused")
    backbone = backbone.resolve()
    if backbone.parent == PACKAGE_WEIGHTS.resolve():
        backbone_name = backbone.name  # a released backbone: shared, not copied
    else:
        backbone_name = f"tiny-backbone-{suffix}"
        if not (PACKAGE_WEIGHTS / backbone_name).exists():
            copy_resolving_links(backbone, PACKAGE_WEIGHTS / backbone_name)
            link_to_released(PACKAGE_WEIGHTS / backbone_name)
    copy_resolving_links(folder, target, shutil.ignore_patterns("*.part", "backbone.json", GRAPHS_FOLDER))
    write_backbone_reference(target, PACKAGE_WEIGHTS / backbone_name)
    export_graphs(Codec.load(str(target), "cpu", allow_path=True).model, target)
    link_to_released(target)  # the graphs too: releases that change one network share the others
    if validation is not None:
        (target / RECORDED).write_text(json.dumps(validation, indent=1) + "\n")
    reference = ROOT / "tests" / "quality" / "reference" / "make_reference.py"
    subprocess.run([sys.executable, str(reference), name], check=True)
    subprocess.run([sys.executable, str(reference), name, "--onnx"], check=True)
    if make_default:
        defaults = default_models() | {scale: name}
        DEFAULTS_FILE.write_text(json.dumps({str(k): v for k, v in sorted(defaults.items())}, indent=1) + "\n")
    return name


def _covers(measured: dict[str, Any], images: list[tuple[str, Any]]) -> bool:
    return [row["image"] for row in measured["per_image"]] == [name for name, _ in images]


def saved_validation(path: Path, images: list[tuple[str, Any]]) -> dict[str, Any]:
    """A validation result written before, checked to cover the same images."""
    measured = json.loads(path.read_text())
    if not _covers(measured, images):
        raise SystemExit(f"{path} was measured on other images than {len(images)} given")
    return measured


def shipped_validation(scale: int, images: list[tuple[str, Any]]) -> dict[str, Any]:
    """The default model's validation on `images`: the one recorded at its release when it covers the same
    images (a BSD100 validation takes 10-20 CPU-minutes), otherwise measured here."""
    name = default_models()[scale]
    recorded = resolve_model(name) / RECORDED
    if recorded.is_file():
        measured = json.loads(recorded.read_text())
        if _covers(measured, images):
            return measured
    return validate(Codec.load(name), images, len(images), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="the trained model folder")
    parser.add_argument("--val", nargs="+", help="validation folders (not with --perceptual)")
    parser.add_argument("--shipped-validation", type=Path, help="the shipped default's validation on the same images")
    parser.add_argument(
        "--candidate-validation",
        type=Path,
        help="the candidate's validation written by an earlier run (MODEL-validation.json)",
    )
    parser.add_argument("--release", metavar="SUFFIX", help="ship the candidate if it beats the shipped model")
    parser.add_argument(
        "--perceptual",
        type=Path,
        metavar="COMPARE.json",
        help="judge by the perceptual rule on this tools.prior.compare record instead",
    )
    parser.add_argument(
        "--keep-default", action="store_true", help="release under the new name without making it the default"
    )
    parser.add_argument(
        "--allow-same",
        action="store_true",
        help="also ship a candidate whose figures equal the shipped model's within TOLERANCE: a "
        "release that adds an option (a dial) or speed, no change beyond noise",
    )
    parser.add_argument(
        "--waive",
        nargs="+",
        default=[],
        choices=[t[0] for t in TARGETS],
        help="figures --allow-same does not compare, only requires to keep their targets: e.g. "
        "spearman for a release with a new patch grid (say why in the model card)",
    )
    args = parser.parse_args()
    if not args.perceptual and not args.val:
        parser.error("give --val, or --perceptual COMPARE.json")
    candidate_codec = Codec.load(str(args.model), allow_path=True)
    scale = candidate_codec.scale
    if args.perceptual:
        report = perceptual_rule(json.loads(args.perceptual.read_text()))
        if args.release and report["better"]:
            backbone = backbone_folder(args.model)[0]
            default = report["meets_targets"] and not args.keep_default  # issue 29: a prior model that meets them all
            report["released"] = release(args.model, backbone, scale, args.release, make_default=default)
        print(json.dumps(report))
        return
    images = named_images(args.val)
    shipped = (
        saved_validation(args.shipped_validation, images)
        if args.shipped_validation
        else shipped_validation(scale, images)
    )
    if args.candidate_validation:
        candidate = saved_validation(args.candidate_validation, images)
    else:
        candidate = validate(candidate_codec, images, len(images), None)
        kept = args.model.with_name(f"{args.model.name}-validation.json")  # kept beside the candidate for its card
        kept.write_text(json.dumps(candidate, indent=1) + "\n")
    report = compare(shipped, candidate, scale, tuple(args.waive))
    if args.release and (report["better"] or (args.allow_same and report["same"])):
        backbone = backbone_folder(args.model)[0]
        default = not args.keep_default
        report["released"] = release(args.model, backbone, scale, args.release, candidate, make_default=default)
    print(json.dumps({k: v for k, v in report.items() if k in ("better", "same", "released")}))


if __name__ == "__main__":
    main()

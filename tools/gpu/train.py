"""`train` mode of the standing GPU job: continue the realism training for a given number of minutes.

    tools/gpu/run.sh train --minutes 8                         (on the device: results under $OUT)
    python -m tools.gpu.train --tiny --device cpu --out DIR    (the same code in seconds: CI)

Runs the stages of tools/gpu/recipe.json in order, each for its share of the minutes, in a work folder
whose backbone, tiny-backbone-candidate, starts as a copy of the recipe's: joint stages fine-tune a
default model copied from the package and pointed at it; a decoder stage writes its VAE decoder into it
(continued from the recipe backbone's, or with --init-vae from one trained before), trained on the
latents of the models it names or, with "candidates", of the models the joint stages before it
trained (their latents move in training: release 5's needed a decoder fitted to them); a U-Net stage
trains its U-Net.
Each stage exports at least every minute. After every stage, OUT/results.tar.gz is rewritten with the
model folders, the logs and summary.json, so a call cut short still returns its finished stages; at the
end validation.json compares the new models with the shipped ones on the validation pack. Back on the
CPU machine: python -m tools.gpu.adopt OUT/results.tar.gz (see README, "GPU").
"""

from __future__ import annotations

import argparse
import json
import tarfile
import time
from pathlib import Path
from typing import Any

import torch

from tadmcodec.evaluation.validate import named_images, validate
from tadmcodec.runtime.codec import Codec
from tadmcodec.runtime.model_loader import load_model_folder
from tadmcodec.store.folder import write_backbone_reference
from tadmcodec.store.hashing import copy_resolving_links, copy_weight_file
from tadmcodec.store.registry import DEFAULT_MODELS, resolve_model
from tadmcodec.training.train import train

RECIPE = Path(__file__).with_name("recipe.json")
BACKBONE = "tiny-backbone-candidate"
PART_BYTES = 15 * 2**20
CANDIDATES = "candidates"  # a decoder stage's latents_from: the models this run's joint stages trained
MODEL_FILES = ("config.json", "diffusion_pytorch_model.safetensors", "lora.safetensors")
TINY = {
    "crop": 64,
    "batch": 2,
    "steps": 3,
    "val_batch": 2,
    "val_crop": 64,
    "log_every": 1,
    "val_every": 3,
    "discriminator": {"width": 8, "layers": 2},
}


def stage_config(
    stage: dict[str, Any], work: Path, pack: Path, source_backbone: str, init_vae: str | None, tiny: bool
) -> dict[str, Any]:
    """The trainer's config for one recipe stage: its paths in the work folder, data from the pack."""
    config = {
        "name": stage["name"],
        "steps": 10**9,
        "seed": 0,
        "threads": torch.get_num_threads(),
        "train": [str(pack / "train.npz")],
        "val": [str(pack / "val.npz")],
        "val_batch": 16,
        "val_every": 10**9,
        "checkpoint_every": 10**9,
        "log_every": 50,
        "export_every_minutes": 1.0,
        **stage["config"],
    }
    backbone = work / BACKBONE
    if config["stage"] == "vae_decoder":
        config |= {"backbone": source_backbone, "export": str(backbone), "init_vae": init_vae}
        if config.get("latents_from") == CANDIDATES:  # fit the decoder to what this run's models decode to
            config["latents_from"] = [str(path) for path in sorted(work.glob("default-*x-candidate"))]
    elif config["stage"] == "unet":
        config |= {"backbone": str(backbone)}
    else:
        config |= {"backbone": str(backbone), "model": str(copy_model(stage["scale"], work, backbone))}
    if tiny:
        config |= TINY | {"loss": config.get("loss", {}) | {"adversarial_start": 1}}
    return config


def copy_model(scale: int, work: Path, backbone: Path) -> Path:
    """The shipped default model's weights in the work folder, pointed at the new backbone (once)."""
    target = work / f"default-{scale}x-candidate"
    if not (target / "config.json").is_file():
        target.mkdir(parents=True, exist_ok=True)
        for name in MODEL_FILES:
            copy_weight_file(resolve_model(DEFAULT_MODELS[scale]) / name, target / name)
        write_backbone_reference(target, backbone)
    return target


def archive(work: Path, out: Path, summary: dict[str, Any]) -> None:
    """Rewrite OUT/results.tar.gz.NN: model folders, logs, summary and validation (no checkpoints), in
    parts under the device tool's 16 MiB per returned file (tools.gpu.adopt joins them)."""
    (work / "summary.json").write_text(json.dumps(summary, indent=1))
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    whole = work.parent / "results.tar.gz"
    with tarfile.open(whole, "w:gz") as tar:
        for path in sorted(work.iterdir()):
            if path.name != "runs":
                tar.add(path, arcname=f"results/{path.name}")
        for log in sorted((work / "runs").glob("*/log.jsonl")):
            tar.add(log, arcname=f"results/logs/{log.parent.name}.jsonl")
    data = whole.read_bytes()
    for old in out.glob("results.tar.gz.*"):
        old.unlink()
    for index, start in enumerate(range(0, len(data), PART_BYTES)):
        (out / f"results.tar.gz.{index:02d}").write_bytes(data[start : start + PART_BYTES])


def validation(work: Path, pack: Path, device: torch.device, limit: int | None) -> dict[str, Any]:
    """Each new model against the shipped one on the validation pack (no SSIMULACRA2: the CPU side has it)."""
    images = named_images([str(pack / "val.npz")], limit)
    result = {}
    for scale in (16, 32):
        for name, folder in (
            (DEFAULT_MODELS[scale], resolve_model(DEFAULT_MODELS[scale])),
            (f"default-{scale}x-candidate", work / f"default-{scale}x-candidate"),
        ):
            if (folder / "config.json").is_file():
                measured = validate(Codec(load_model_folder(folder, name), device), images, 0, None)
                result[name] = {k: v for k, v in measured.items() if k != "per_image"}
    return result


def run(
    minutes: float, out: Path, device: torch.device, pack: Path, init_vae: str | None, tiny: bool
) -> dict[str, Any]:
    recipe = json.loads(RECIPE.read_text())
    work = out.parent / "gpu-train-work" if tiny else Path("/tmp/gpu-train-work")
    work.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"device": str(device), "minutes": minutes, "stages": []}
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        summary["gpu"] = torch.cuda.get_device_name(device)
    if not (work / BACKBONE).exists():  # joint stages before any decoder stage train on the recipe's backbone
        copy_resolving_links(Path(recipe["backbone"]), work / BACKBONE)
    for stage in recipe["stages"]:
        config = stage_config(stage, work, pack, recipe["backbone"], init_vae, tiny)
        start = time.monotonic()
        metrics = train(config, work / "runs", None if tiny else minutes * stage["share"], device)
        summary["stages"].append(
            {
                "name": stage["name"],
                "seconds": round(time.monotonic() - start, 1),
                "steps": metrics.get("step"),
                "validation": metrics,
            }
        )
        print(json.dumps(summary["stages"][-1]), flush=True)
        archive(work, out, summary)
    summary["validation"] = validation(work, pack, device, 1 if tiny else None)
    (work / "validation.json").write_text(json.dumps(summary["validation"], indent=1))
    archive(work, out, summary)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--minutes", type=float, default=8.0, help="training time in all (validation comes after)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--pack", type=Path, default=Path(".gpu-pack"))
    parser.add_argument("--init-vae", help="a conv-decoder VAE folder (a backbone's vae/) to continue from")
    parser.add_argument("--tiny", action="store_true", help="a few steps per stage on small crops (tests)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    summary = run(args.minutes, args.out, torch.device(args.device), args.pack, args.init_vae, args.tiny)
    print(json.dumps(summary["validation"], indent=1))


if __name__ == "__main__":
    main()

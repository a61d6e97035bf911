"""Run one training stage from a JSON config, resuming from its checkpoint.

    python -m tadmcodec.training.train CONFIG.json [--minutes M] [--runs runs] [--device cuda]

Logs one JSON line per log interval and per validation to runs/NAME/log.jsonl, checkpoints to
runs/NAME/checkpoint/, and exports the backbone or model folder after every validation (every
val_every steps, and every export_every_minutes when the config sets it). Training data
are folders of images or packs made by tools/gpu/pack.py (.npz); a batch takes crops_per_image
crops from each image it draws (default 1).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ..errors import TadmError
from ..store.registry import PACKAGE_WEIGHTS
from .checkpoint import load_checkpoint, save_checkpoint
from .config import parse_config
from .data import CropSampler
from .stages import Stage, build_stage, seed_outputs


def _log(path: Path, record: dict[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def train(
    values: Mapping[str, Any], runs: Path, minutes: float | None = None, device: str | torch.device = "cpu"
) -> dict[str, float]:
    """Train the stage a config's values describe (training.config: checked before any work) until its
    steps or the time limit; return the last validation metrics."""
    device = torch.device(device)
    config = parse_config(values)
    if config.output().resolve().is_relative_to(PACKAGE_WEIGHTS.resolve()):
        raise TadmError(
            f"{config.name} would write into {config.output()}, a released model in the package: train "
            "into a run folder (init_model / init_backbone start from a release) and release "
            "the result under a new name"
        )
    seed_outputs(config)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    run = runs / config.name
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.json").write_text(json.dumps(dict(values), indent=1))
    seed = config.seed
    torch.manual_seed(seed)
    sampler = CropSampler(config.train, config.crop, seed=seed, limit=config.train_limit)
    validation = (
        CropSampler(config.val, config.val_crop or config.crop, seed=seed + 1).batch(config.val_batch).to(device)
    )
    checkpoint = load_checkpoint(run / "checkpoint")
    stage = build_stage(config, None if checkpoint else CropSampler(config.train, 64, seed=seed).batch(256))
    stage.to(device)
    optimizer = torch.optim.AdamW(stage.trainable(), lr=config.lr, weight_decay=config.weight_decay)
    step = 0
    if checkpoint:
        step = _restore(checkpoint, stage, optimizer, sampler)
    deadline = time.monotonic() + minutes * 60 if minutes else None
    every_minutes, last_export = config.export_every_minutes, time.monotonic()
    metrics: dict[str, float] = {}
    progress = tqdm(total=config.steps, initial=step, desc=config.name, dynamic_ncols=True)
    running: dict[str, float] = {}
    while step < config.steps and (deadline is None or time.monotonic() < deadline):
        batch = sampler.batch(config.batch, config.crops_per_image)
        loss, parts = stage.loss(batch.to(device, non_blocking=True))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(stage.trainable(), config.clip)
        optimizer.step()
        step += 1
        progress.update(1)
        for key, value in parts.items():
            running[key] = running.get(key, 0.0) + value
        if step % config.log_every == 0:
            averaged = {k: round(v / config.log_every, 5) for k, v in running.items()}
            progress.set_postfix(averaged)
            _log(run / "log.jsonl", {"step": step, "time": time.time(), **averaged})
            running = {}
        due = every_minutes is not None and time.monotonic() - last_export >= every_minutes * 60
        if step % config.val_every == 0 or step == config.steps or due:
            metrics = _validate_and_export(stage, validation, run, step)
            last_export = time.monotonic()
        if step % config.checkpoint_every == 0 or due:
            _save(run, stage, optimizer, sampler, step)
    progress.close()
    _save(run, stage, optimizer, sampler, step)
    if not metrics or metrics.get("step") != step:
        metrics = _validate_and_export(stage, validation, run, step)
    return metrics


def _validate_and_export(stage: Stage, validation: torch.Tensor, run: Path, step: int) -> dict[str, float]:
    for module in stage.modules().values():
        module.eval()
    metrics = {"step": step, **{k: round(v, 4) for k, v in stage.validate(validation).items()}}
    stage.export()
    for module in stage.modules().values():
        module.train()
    _log(run / "log.jsonl", {"validation": metrics, "time": time.time()})
    return metrics


def _save(run: Path, stage: Stage, optimizer: torch.optim.Optimizer, sampler: CropSampler, step: int) -> None:
    save_checkpoint(
        run / "checkpoint",
        {
            "step": step,
            "modules": {name: module.state_dict() for name, module in stage.modules().items()},
            "optimizer": optimizer.state_dict(),
            "stage": stage.state(),
            "torch_rng": torch.get_rng_state(),
            "sampler_rng": json.dumps(sampler.rng.bit_generator.state),
        },
    )


def _restore(state: dict[str, Any], stage: Stage, optimizer: torch.optim.Optimizer, sampler: CropSampler) -> int:
    for name, module in stage.modules().items():
        module.load_state_dict(state["modules"][name])
    optimizer.load_state_dict(state["optimizer"])
    stage.load_state(state.get("stage", {}))
    torch.set_rng_state(state["torch_rng"])
    sampler.rng = np.random.default_rng()
    sampler.rng.bit_generator.state = json.loads(state["sampler_rng"])
    return int(state["step"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--minutes", type=float, help="stop (with a checkpoint) after this many minutes")
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    args = parser.parse_args()
    try:
        metrics = train(json.loads(args.config.read_text()), args.runs, args.minutes, args.device)
    except TadmError as err:
        raise SystemExit(f"tadmcodec train: {err}") from None
    print(json.dumps(metrics))


if __name__ == "__main__":
    main()

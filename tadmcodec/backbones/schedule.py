"""The DDPM noise schedule of a backbone folder (scheduler/scheduler_config.json): alphas_cumprod, computed
as diffusers' DDPMScheduler does, without constructing a scheduler (the codec only needs the table)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..errors import MissingWeightsError

TIMESTEPS = 1000
# SD's noise schedule: scaled-linear betas from 0.00085 to 0.012 over 1000 steps.
SD_SCHEDULE = {
    "num_train_timesteps": TIMESTEPS,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
}


def alphas_cumprod(config: dict) -> torch.Tensor:
    """alpha_bar_t for t = 0..T-1 from a scheduler configuration (linear or scaled-linear betas)."""
    start, end, count = config["beta_start"], config["beta_end"], config["num_train_timesteps"]
    if config.get("trained_betas") is not None or config.get("rescale_betas_zero_snr"):
        raise MissingWeightsError("trained or zero-SNR betas are not supported")
    if config["beta_schedule"] == "linear":
        betas = torch.linspace(start, end, count, dtype=torch.float32)
    elif config["beta_schedule"] == "scaled_linear":
        betas = torch.linspace(start**0.5, end**0.5, count, dtype=torch.float32) ** 2
    else:
        raise MissingWeightsError(f"beta schedule {config['beta_schedule']!r} is not supported")
    return torch.cumprod(1.0 - betas, dim=0)


def read_schedule(folder: Path) -> torch.Tensor:
    """alphas_cumprod of a backbone folder; TADM needs T = 1000 training timesteps."""
    path = folder / "scheduler" / "scheduler_config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
        table = alphas_cumprod(config)
    except (OSError, ValueError, KeyError) as err:
        raise MissingWeightsError(f"cannot read the noise schedule {path}: {err}") from None
    if table.numel() != TIMESTEPS:
        raise MissingWeightsError(f"{path}: TADM needs T = {TIMESTEPS} training timesteps")
    return table


def write_schedule(folder: Path, config: dict = SD_SCHEDULE) -> None:
    """Write scheduler/scheduler_config.json in the form DDPMScheduler reads."""
    (folder / "scheduler").mkdir(parents=True, exist_ok=True)
    document = {"_class_name": "DDPMScheduler", "prediction_type": "epsilon", **config}
    (folder / "scheduler" / "scheduler_config.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")

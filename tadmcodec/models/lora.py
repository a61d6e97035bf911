"""LoRA on the backbone U-Net through peft; saved and loaded apart from the backbone's weights."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from peft import LoraConfig, get_peft_model_state_dict, inject_adapter_in_model, set_peft_model_state_dict
from torch import nn

from ..errors import MissingWeightsError


def add_lora(unet: nn.Module, rank: int, targets: Sequence[str]) -> nn.Module:
    """Inject LoRA adapters (B initialised to zero, so the U-Net is unchanged) and freeze the base weights."""
    config = LoraConfig(r=rank, lora_alpha=rank, target_modules=list(targets), init_lora_weights=True)
    return inject_adapter_in_model(config, unet)


def lora_state_dict(unet: nn.Module) -> dict[str, torch.Tensor]:
    """Only the adapter weights, with peft's adapter-free key names."""
    return {key: value.detach().contiguous() for key, value in get_peft_model_state_dict(unet).items()}


def load_lora(unet: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load adapter weights into a U-Net that add_lora prepared; every key must be used."""
    result = set_peft_model_state_dict(unet, state)
    unexpected = getattr(result, "unexpected_keys", [])
    if unexpected:
        raise MissingWeightsError(f"LoRA weights do not fit this U-Net: {len(unexpected)} unexpected keys")

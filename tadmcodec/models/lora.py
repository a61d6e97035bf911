"""LoRA (Hu et al. 2021) on the backbone U-Net, computed as peft computes it, without peft.

add_lora replaces each target nn.Linear / nn.Conv2d (matched by name, as peft's target_modules: the
module's name or its last dotted parts) with a subclass that keeps the base weight under the same key
and adds `lora_A` (the base layer's shape, rank outputs) and `lora_B` (1x1, zero at start, so the
U-Net starts unchanged): y = base(x) + lora_B(lora_A(x)) * alpha / rank, alpha = rank. The adapters
are saved apart from the backbone (lora.safetensors) under the same keys peft writes; merge_lora folds
them into the base weights for inference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ..errors import MissingWeightsError


class LoRALinear(nn.Linear):
    lora_A: nn.Linear
    lora_B: nn.Linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) + self.lora_B(self.lora_A(x))


class LoRAConv2d(nn.Conv2d):
    lora_A: nn.Conv2d
    lora_B: nn.Conv2d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) + self.lora_B(self.lora_A(x))


def _with_lora(layer: nn.Module, rank: int) -> nn.Module:
    """The layer as its LoRA subclass (same parameters, shared), with fresh adapters."""
    if isinstance(layer, nn.Linear):
        layer.__class__ = LoRALinear
        layer.lora_A = nn.Linear(layer.in_features, rank, bias=False)
        layer.lora_B = nn.Linear(rank, layer.out_features, bias=False)
    elif isinstance(layer, nn.Conv2d):
        layer.__class__ = LoRAConv2d
        layer.lora_A = nn.Conv2d(layer.in_channels, rank, layer.kernel_size, layer.stride, layer.padding, bias=False)
        layer.lora_B = nn.Conv2d(rank, layer.out_channels, 1, 1, groups=layer.groups, bias=False)
    else:
        raise TypeError(f"LoRA supports Linear and Conv2d layers, not {type(layer).__name__}")
    nn.init.kaiming_uniform_(layer.lora_A.weight, a=math.sqrt(5))
    nn.init.zeros_(layer.lora_B.weight)
    return layer


def _targeted(name: str, targets: Sequence[str]) -> bool:
    return any(name == target or name.endswith("." + target) for target in targets)


def add_lora(unet: nn.Module, rank: int, targets: Sequence[str]) -> nn.Module:
    """Give every target layer LoRA adapters (the U-Net's output is unchanged until they train)."""
    matched = [name for name, module in unet.named_modules() if _targeted(name, targets)]
    if not matched:
        raise ValueError(f"no layer of the U-Net matches the LoRA targets {list(targets)}")
    for name in matched:
        _with_lora(unet.get_submodule(name), rank)
    return unet


def merge_lora(unet: nn.Module) -> nn.Module:
    """Fold every adapter into its base weight (W + B A) and turn the layers back into plain Linear and
    Conv2d: the same function with one product per layer instead of three, for inference only (about
    1.3x faster U-Net steps on the CPU). The sums round differently from the unmerged form by float32
    ulps, well inside the decode reference tolerance (tests/quality/test_decode_reference.py)."""
    for module in unet.modules():
        if isinstance(module, LoRALinear):
            update, plain = module.lora_B.weight @ module.lora_A.weight, nn.Linear
        elif isinstance(module, LoRAConv2d):
            if module.groups != 1:
                raise ValueError("merging LoRA into a grouped convolution is not supported")
            update = torch.einsum("or,rikl->oikl", module.lora_B.weight[:, :, 0, 0], module.lora_A.weight)
            plain = nn.Conv2d
        else:
            continue
        module.weight.data += update
        module.__class__ = plain
        del module.lora_A, module.lora_B
    return unet


def lora_state_dict(unet: nn.Module) -> dict[str, torch.Tensor]:
    """Only the adapter weights (keys such as down_blocks.0.resnets.0.conv1.lora_A.weight)."""
    return {key: value.detach().contiguous() for key, value in unet.state_dict().items() if ".lora_" in key}


def load_lora(unet: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load adapter weights into a U-Net that add_lora prepared; every adapter must be given and used."""
    expected = set(lora_state_dict(unet))
    if set(state) != expected:
        raise MissingWeightsError(
            f"LoRA weights do not fit this U-Net: {len(set(state) - expected)} unexpected, "
            f"{len(expected - set(state))} missing keys"
        )
    unet.load_state_dict(state, strict=False)

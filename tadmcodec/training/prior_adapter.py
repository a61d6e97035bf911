"""Fine-tuning a texture prior as an adapter: LoRA factors on each convolution of a released prior (its
weights frozen), the biases and PReLU slopes trained whole, saved as the prior folder a release ships
(the released prior's weight file, linked, and PRIOR_ADAPTER beside it: tadmcodec.store.low_rank).

A 400-step run's change is close enough to low-rank to cut down afterwards (tools.prior.low_rank: release
14's adapter), a long run's is not (74 % of a 1,100-step change kept at rank 16); a run that trains the
factors themselves ships what it measured. The one such run so far (run O, docs/measurements.md) trained
with other loss weights and measured worse than release 14's cut-down run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

from ..models.lora import add_lora
from ..models.texture_prior import TexturePrior
from ..nn.configured import CONFIG_NAME, WEIGHTS_NAME
from ..store.folder import PRIOR_ADAPTER
from ..store.hashing import copy_weight_file
from ..store.low_rank import DOWN, UP


def with_adapter(prior: TexturePrior, rank: int) -> TexturePrior:
    """The prior with rank-`rank` LoRA factors on every convolution (zero update at start) and the
    convolutions' weights frozen: only factors, biases and PReLU slopes train."""
    convolutions = [name for name, module in prior.named_modules() if isinstance(module, nn.Conv2d)]
    add_lora(prior, rank, convolutions)
    for name in convolutions:
        prior.get_submodule(name).weight.requires_grad_(False)
    return prior


def adapter_tensors(prior: TexturePrior) -> dict[str, torch.Tensor]:
    """What PRIOR_ADAPTER stores of a with_adapter prior: everything that trains, the factors in float16
    (as tools.prior.low_rank writes them), biases and PReLU slopes in float32."""
    return {
        name: (value.half() if name.endswith((DOWN, UP)) else value.float()).detach().contiguous()
        for name, value in prior.named_parameters()
        if value.requires_grad
    }


def save_adapter(prior: TexturePrior, base: Path, output: Path) -> None:
    """Write output as a prior folder: base's config and weight file (the released prior the run started
    from) and the adapter."""
    output.mkdir(parents=True, exist_ok=True)
    shutil.copy2(base / CONFIG_NAME, output / CONFIG_NAME)
    if not (output / WEIGHTS_NAME).is_file():
        copy_weight_file(base / WEIGHTS_NAME, output / WEIGHTS_NAME)
    save_file(adapter_tensors(prior), output / PRIOR_ADAPTER)

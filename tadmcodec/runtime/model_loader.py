"""A TADM model in memory: load and check a model folder into torch modules, and save one (the
folder's layout and digest: tadmcodec.store.folder)."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..backbones import Backbone, load_backbone
from ..errors import MissingWeightsError
from ..models.algorithm import TADM
from ..models.lora import add_lora, load_lora, lora_state_dict
from ..models.tadm import TADMModel
from ..models.texture_prior import TexturePrior
from ..store.folder import (
    BACKBONE_PARTS,
    REQUIRED_FILES,
    TEXTURE_PRIOR,
    backbone_folder,
    has_texture_prior,
    model_digest,
    write_backbone_reference,
)
from ..store.hashing import linked_file, verify_pinned


def load_model_folder(folder: str | Path, name: str | None = None) -> TADM:
    """Load and check a model folder, on the CPU, in eval mode."""
    folder = Path(folder)
    for required in REQUIRED_FILES:
        if not linked_file(folder / required).is_file():
            raise MissingWeightsError(f"model folder {folder} lacks {required}")
    path, table = backbone_folder(folder)
    if table is not None:
        verify_pinned(path, table, BACKBONE_PARTS)
    null_file = linked_file(folder / "null_embedding.safetensors")
    null_embedding = read_weights(null_file)["null_embedding"] if null_file.is_file() else None
    backbone = load_backbone(path, null_embedding)
    tadm = TADMModel.from_pretrained(folder)
    if not torch.allclose(tadm.scheduler.alphas_cumprod, backbone.alphas_cumprod):
        raise MissingWeightsError(f"model folder {folder} was trained with another noise schedule")
    add_lora(backbone.unet, tadm.config.lora_rank, tadm.config.lora_targets)
    load_lora(backbone.unet, read_weights(linked_file(folder / "lora.safetensors")))
    prior = TexturePrior.from_pretrained(folder, TEXTURE_PRIOR) if has_texture_prior(folder) else None
    return TADM(tadm, backbone, name or folder.name, folder, model_digest(folder, path), prior).eval()


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """A safetensors file's tensors; a damaged file is a one-line MissingWeightsError naming it."""
    try:
        return load_file(path)
    except (OSError, SafetensorError) as err:
        raise MissingWeightsError(f"cannot read {path}: {err}") from None


def save_model_folder(
    folder: str | Path,
    tadm: TADMModel,
    backbone: Backbone,
    backbone_path: str | Path,
    pinned: str | None = None,
) -> None:
    """Write a model folder (to a temporary sibling, then renamed) that load_model_folder reads; files this
    function does not write (model card, validation results, pictures) are kept."""
    folder = Path(folder)
    temporary = folder.with_name(f".{folder.name}.part")
    shutil.rmtree(temporary, ignore_errors=True)
    tadm.save_pretrained(temporary)
    save_file(lora_state_dict(backbone.unet), temporary / "lora.safetensors")
    if backbone.conditional:
        save_file({"null_embedding": backbone.null_embedding.contiguous()}, temporary / "null_embedding.safetensors")
    write_backbone_reference(temporary, backbone_path, pinned, beside=folder)
    if folder.exists():
        for kept in folder.iterdir():
            if kept.is_file() and not (temporary / kept.name).exists():
                shutil.copy2(kept, temporary / kept.name)
        shutil.rmtree(folder)
    temporary.rename(folder)

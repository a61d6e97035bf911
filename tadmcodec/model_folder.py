"""A TADM model on disk and in memory.

    NAME/config.json                          TADMModel configuration (scale, backbone name, sizes)
    NAME/diffusion_pytorch_model.safetensors  DFRM, TPM, hybrid scheduler
    NAME/lora.safetensors                     U-Net LoRA adapters
    NAME/null_embedding.safetensors           null-prompt embedding (conditional U-Nets only)
    NAME/backbone.json                        {"path": backbone folder, relative or absolute,
                                               "pinned": a table name in backbones/pinned/, a .json path
                                               relative to NAME, or null}

Any .safetensors file may be a weight link (NAME.link) to an identical file of another released folder
(tadmcodec.hashing), so releases that share weights store them once.

The digest recorded in every container is a SHA-256 over the hashes of these weights and of the
backbone's vae/, unet/ and scheduler/ files, so a decoder detects any different model.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .backbones import Backbone, load_backbone
from .errors import MissingWeightsError
from .hashing import folder_hashes, linked_file, manifest_digest, verify_pinned
from .models.algorithm import TADM
from .models.lora import add_lora, load_lora, lora_state_dict
from .models.tadm import TADMModel

PINNED_TABLES = Path(__file__).parent / "backbones" / "pinned"
WEIGHT_FILES = ("config.json", "diffusion_pytorch_model.safetensors", "lora.safetensors", "null_embedding.safetensors")
BACKBONE_PARTS = ("vae", "unet", "scheduler")


def backbone_folder(folder: Path) -> tuple[Path, Path | None]:
    """The backbone folder named by backbone.json and the pinned hash table, if any."""
    reference = folder / "backbone.json"
    if not reference.is_file():
        raise MissingWeightsError(f"model folder {folder} has no backbone.json")
    data = json.loads(reference.read_text(encoding="utf-8"))
    path = (folder / data["path"]).resolve()
    pinned = data.get("pinned")
    if not pinned:
        return path, None
    table = (folder / pinned) if pinned.endswith(".json") else PINNED_TABLES / f"{pinned}.json"
    if not table.is_file():
        raise MissingWeightsError(f"model folder {folder}: pinned hash table {table} not found")
    return path, table


def write_backbone_reference(folder: Path, backbone_path: str | Path, pinned: str | None = None,
                             beside: Path | None = None) -> None:  # fmt: skip
    """Write folder/backbone.json naming backbone_path: relative ("../NAME/...") when the backbone lies
    beside the model folder (or beside `beside`, the folder's final place), so the pair can move together;
    absolute otherwise."""
    backbone_path = Path(backbone_path).resolve()
    try:
        reference = Path("..") / backbone_path.relative_to((beside or folder).resolve().parent)
    except ValueError:
        reference = backbone_path
    (folder / "backbone.json").write_text(json.dumps({"path": reference.as_posix(), "pinned": pinned}, indent=1))


def model_digest(folder: Path, backbone_path: Path) -> bytes:
    hashes = {f"model/{k}": v for k, v in folder_hashes(folder).items() if k in WEIGHT_FILES}
    hashes |= {f"backbone/{k}": v for k, v in folder_hashes(backbone_path, BACKBONE_PARTS).items()}
    return manifest_digest(hashes)


def load_model_folder(folder: str | Path, name: str | None = None) -> TADM:
    """Load and check a model folder, on the CPU, in eval mode."""
    folder = Path(folder)
    for required in ("config.json", "diffusion_pytorch_model.safetensors", "lora.safetensors"):
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
    return TADM(tadm, backbone, name or folder.name, folder, model_digest(folder, path)).eval()


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

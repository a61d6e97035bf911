"""A TADM model folder on disk: its files, its backbone reference and its digest (no torch).

    NAME/config.json                          TADMModel configuration (scale, backbone name, sizes)
    NAME/diffusion_pytorch_model.safetensors  DFRM, TPM, hybrid scheduler
    NAME/lora.safetensors                     U-Net LoRA adapters
    NAME/null_embedding.safetensors           null-prompt embedding (conditional U-Nets only)
    NAME/texture_prior/                       optional: the texture prior (tadmcodec.models.texture_prior),
                                              config.json + diffusion_pytorch_model.safetensors
    NAME/backbone.json                        {"path": backbone folder, relative or absolute,
                                               "pinned": a table name in backbones/pinned/, a .json path
                                               relative to NAME, or null}

Any .safetensors file may be a weight link (NAME.link) to an identical file of another released folder
(tadmcodec.store.hashing), so releases that share weights store them once.

The digest recorded in every container is a SHA-256 over the hashes of these weights and of the
backbone's vae/, unet/ and scheduler/ files, so a decoder detects any different model.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from ..errors import MissingWeightsError
from .hashing import folder_hashes, manifest_digest

CONFIG_DEFAULTS = {"num_timesteps": 1000, "detail_strength": 0.0, "texture_timesteps": None}
PINNED_TABLES = Path(__file__).parents[1] / "backbones" / "pinned"
TEXTURE_PRIOR = "texture_prior"
PRIOR_ADAPTER = "lora.safetensors"  # in TEXTURE_PRIOR: a low-rank update of an earlier prior (store.low_rank)
WEIGHT_FILES = (
    "config.json",
    "diffusion_pytorch_model.safetensors",
    "lora.safetensors",
    "null_embedding.safetensors",
    f"{TEXTURE_PRIOR}/config.json",
    f"{TEXTURE_PRIOR}/diffusion_pytorch_model.safetensors",
    f"{TEXTURE_PRIOR}/{PRIOR_ADAPTER}",
)
REQUIRED_FILES = WEIGHT_FILES[:3]
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


def write_backbone_reference(
    folder: Path, backbone_path: str | Path, pinned: str | None = None, beside: Path | None = None
) -> None:
    """Write folder/backbone.json naming backbone_path: relative ("../NAME/...") when the backbone lies
    beside the model folder (or beside `beside`, the folder's final place), so the pair can move together;
    absolute otherwise."""
    backbone_path = Path(backbone_path).resolve()
    try:
        reference = Path("..") / backbone_path.relative_to((beside or folder).resolve().parent)
    except ValueError:
        reference = backbone_path
    (folder / "backbone.json").write_text(json.dumps({"path": reference.as_posix(), "pinned": pinned}, indent=1))


def read_config(folder: Path) -> SimpleNamespace:
    """A model folder's configuration (config.json) with its keys as attributes, without torch (TADMModel's
    defaults for keys an older folder lacks)."""
    try:
        values = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise MissingWeightsError(f"cannot read {folder / 'config.json'}: {err}") from None
    return SimpleNamespace(**(CONFIG_DEFAULTS | values))


def has_texture_prior(folder: Path) -> bool:
    """Whether a model folder carries a texture prior (its decode ends with it)."""
    return (folder / TEXTURE_PRIOR / "config.json").is_file()


def model_digest(folder: Path, backbone_path: Path | None = None) -> bytes:
    """The SHA-256 over a model's weight files and its backbone's (the folder's own backbone.json unless
    another is given): what a `.tadm` file records of the model that wrote it."""
    backbone_path = backbone_folder(folder)[0] if backbone_path is None else backbone_path
    hashes = {f"model/{k}": v for k, v in folder_hashes(folder).items() if k in WEIGHT_FILES}
    hashes |= {f"backbone/{k}": v for k, v in folder_hashes(backbone_path, BACKBONE_PARTS).items()}
    return manifest_digest(hashes)

"""A backbone as the codec uses it: encode to and decode from the scaled latent, predict noise.

Both backbones share the diffusers folder layout (vae/, unet/, scheduler/), so one loader serves
them; a conditional U-Net (SD) gets the cached null-prompt embedding.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from ..errors import MissingWeightsError
from .schedule import read_schedule
from .tiny_vae import TinyAutoencoder
from .unet import UNet

# Classes named by config.json files; SD 2.1's come from diffusers, imported only for such a folder.
OWN_CLASSES = {"UNet2DModel": UNet, "TinyAutoencoder": TinyAutoencoder}
DIFFUSERS_CLASSES = {"UNet2DConditionModel", "AutoencoderKL"}


class Backbone(nn.Module):
    """VAE + U-Net + alphas_cumprod (T = 1000), with the null text embedding when the U-Net needs one."""

    def __init__(
        self, vae: nn.Module, unet: nn.Module, alphas_cumprod: torch.Tensor, null_embedding: torch.Tensor | None = None
    ) -> None:
        super().__init__()
        self.vae = vae
        self.unet = unet
        self.register_buffer("alphas_cumprod", alphas_cumprod.float().clone())
        self.conditional = type(unet).__name__ == "UNet2DConditionModel"
        if self.conditional and null_embedding is None:
            raise MissingWeightsError("a conditional U-Net needs the cached null-prompt embedding")
        self.register_buffer("null_embedding", null_embedding if self.conditional else None)

    @property
    def latent_channels(self) -> int:
        return self.vae.config.latent_channels

    @property
    def num_timesteps(self) -> int:
        return self.alphas_cumprod.numel()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Image in [-1, 1] to the scaled latent (the posterior mean: deterministic)."""
        moments = self.vae.encode(x).latent_dist
        return self._scale(moments.mean)

    @property
    def synthesises_detail(self) -> bool:
        """Whether the VAE decoder can add texture of a requested detail energy (decode's `detail`)."""
        return bool(self.vae.config.get("detail_head", 0))

    def decode(
        self, z: torch.Tensor, detail: torch.Tensor | None = None, origins: list[tuple[int, int]] | None = None
    ) -> torch.Tensor:
        """Scaled latent to an image in [-1, 1] (not clamped); with a detail-synthesising VAE, `detail` is the
        detail energy per latent pixel and `origins` each latent's top-left pixel (see TinyAutoencoder)."""
        config = self.vae.config
        latent = z / config.scaling_factor + (config.shift_factor or 0.0)
        if detail is None or not self.synthesises_detail:
            return self.vae.decode(latent).sample
        return self.vae.decode(latent, detail, origins).sample

    def _scale(self, latent: torch.Tensor) -> torch.Tensor:
        config = self.vae.config
        return (latent - (config.shift_factor or 0.0)) * config.scaling_factor

    def predict_noise(self, z_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """eps from the U-Net, one timestep per batch element."""
        if self.conditional:
            context = self.null_embedding.to(z_t.dtype).expand(z_t.shape[0], -1, -1)
            return self.unet(z_t, t, encoder_hidden_states=context).sample
        return self.unet(z_t, t)


def load_backbone(folder: str | Path, null_embedding: torch.Tensor | None = None) -> Backbone:
    """Load vae/, unet/ and scheduler/ from a diffusers-layout folder, offline and safetensors only.

    A text-conditioned U-Net needs the null-prompt embedding: pass the cached one, or it is computed
    from the folder's text_encoder/ and tokenizer/.
    """
    folder = Path(folder)
    for part in ("vae", "unet", "scheduler"):
        if not (folder / part / ("scheduler_config.json" if part == "scheduler" else "config.json")).is_file():
            raise MissingWeightsError(f"backbone folder {folder} has no {part}/ configuration")
    vae, unet = _load_part(folder, "vae"), _load_part(folder, "unet")
    conditional = type(unet).__name__ == "UNet2DConditionModel"
    if conditional and null_embedding is None:
        from .text import null_prompt_embedding  # transformers: only for a folder without a cached embedding

        null_embedding = null_prompt_embedding(folder)
    return Backbone(vae.eval(), unet.eval(), read_schedule(folder), null_embedding)


def _load_part(folder: Path, part: str) -> nn.Module:
    """The vae/ or unet/ model, by the class its config.json names."""
    name = json.loads((folder / part / "config.json").read_text(encoding="utf-8")).get("_class_name")
    if name in OWN_CLASSES:
        return OWN_CLASSES[name].from_pretrained(folder, subfolder=part)
    if name not in DIFFUSERS_CLASSES:
        known = ", ".join([*OWN_CLASSES, *DIFFUSERS_CLASSES])
        raise MissingWeightsError(f"{folder}/{part}: unsupported class {name!r} (known: {known})")
    try:
        import diffusers
    except ImportError:
        raise MissingWeightsError(f"{folder}/{part} is a {name}: install tadmcodec[sd21] for diffusers") from None
    try:
        return getattr(diffusers, name).from_pretrained(
            folder, subfolder=part, local_files_only=True, use_safetensors=True
        )
    except (OSError, ValueError) as err:
        raise MissingWeightsError(f"cannot load the backbone in {folder}: {err}") from None

"""The `tiny` backbone: a small VAE with AutoencoderKL's interface and a UNet2DModel, sized to train on a CPU.

Its latent is at 1/8 resolution like Stable Diffusion's; the channel count and width are arguments
so that the choice can be measured (see the model card) and one DFRM design serves every backbone.
"""

from __future__ import annotations

from pathlib import Path

from .schedule import write_schedule
from .tiny_vae import TinyAutoencoder
from .unet import UNet


def tiny_vae(latent_channels: int = 16, width: int = 96) -> TinyAutoencoder:
    """The tiny backbone's VAE: latent at 1/8, PCA-initialisable, no attention or normalisation."""
    return TinyAutoencoder(latent_channels=latent_channels, width=width)


def tiny_unet(latent_channels: int = 16, width: int = 64) -> UNet:
    """A small noise-prediction U-Net over latent patches, attention at the two coarser levels."""
    return UNet(
        in_channels=latent_channels,
        out_channels=latent_channels,
        down_block_types=("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
        block_out_channels=(width, width * 2, width * 2),
        layers_per_block=1,
        attention_head_dim=32,
        norm_num_groups=min(32, width // 2),
    )


def save_tiny_backbone(
    folder: str | Path,
    latent_channels: int = 16,
    vae_width: int = 96,
    unet_width: int = 64,
    vae: TinyAutoencoder | None = None,
    unet: UNet | None = None,
) -> Path:
    """Write a tiny backbone (given or freshly initialised) in the diffusers folder layout."""
    folder = Path(folder)
    (vae or tiny_vae(latent_channels, vae_width)).save_pretrained(folder / "vae")
    (unet or tiny_unet(latent_channels, unet_width)).save_pretrained(folder / "unet")
    write_schedule(folder)
    return folder

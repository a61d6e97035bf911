"""TinyAutoencoder: a CPU-sized VAE with AutoencoderKL's interface and folder format.

Most of its work happens at the 1/8 latent resolution: a linear map between 8x8x3 pixel blocks and
the latent (initialised from the principal components of training blocks, so it starts at the PCA
reconstruction ceiling), plus zero-initialised non-linear refinements at 1/8 and at full resolution.
No normalisation layers, so the output of a tile depends only on its neighbourhood.
"""

from __future__ import annotations

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from diffusers.models.autoencoders.vae import DecoderOutput, DiagonalGaussianDistribution
from diffusers.models.modeling_outputs import AutoencoderKLOutput
from torch import nn

from ..models.blocks import ResBlock, zero_module

BLOCK = 8
BLOCK_VALUES = 3 * BLOCK * BLOCK


class TinyAutoencoder(ModelMixin, ConfigMixin):
    """encode(x).latent_dist and decode(z).sample, like diffusers' AutoencoderKL."""

    config_name = "config.json"

    @register_to_config
    def __init__(
        self,
        latent_channels: int = 8,
        width: int = 96,
        blocks: int = 3,
        refine_width: int = 16,
        scaling_factor: float = 1.0,
        shift_factor: float = 0.0,
        initial_logvar: float = -12.0,  # a fixed, small posterior variance: latents stay near their mean
    ) -> None:
        super().__init__()
        self.unshuffle, self.shuffle = nn.PixelUnshuffle(BLOCK), nn.PixelShuffle(BLOCK)
        self.encode_linear = nn.Conv2d(BLOCK_VALUES, latent_channels, 1)
        self.encode_refine = nn.Sequential(
            nn.Conv2d(BLOCK_VALUES, width, 3, padding=1), *[ResBlock(width) for _ in range(blocks)], nn.SiLU(),
            zero_module(nn.Conv2d(width, latent_channels, 3, padding=1)),
        )  # fmt: skip
        self.register_buffer("logvar", torch.full((latent_channels,), initial_logvar))
        self.decode_linear = nn.Conv2d(latent_channels, BLOCK_VALUES, 1)
        self.decode_refine = nn.Sequential(
            nn.Conv2d(latent_channels, width, 3, padding=1), *[ResBlock(width) for _ in range(blocks)], nn.SiLU(),
            zero_module(nn.Conv2d(width, BLOCK_VALUES, 3, padding=1)),
        )  # fmt: skip
        self.pixel_refine = nn.Sequential(
            nn.Conv2d(3, refine_width, 3, padding=1), nn.SiLU(),
            nn.Conv2d(refine_width, refine_width, 3, padding=1), nn.SiLU(),
            zero_module(nn.Conv2d(refine_width, 3, 3, padding=1)),
        )  # fmt: skip

    def encode(self, x: torch.Tensor, return_dict: bool = True) -> AutoencoderKLOutput:
        blocks = self.unshuffle(x)
        mean = self.encode_linear(blocks) + self.encode_refine(blocks)
        logvar = self.logvar[None, :, None, None].expand_as(mean)
        return AutoencoderKLOutput(latent_dist=DiagonalGaussianDistribution(torch.cat([mean, logvar], dim=1)))

    def decode(self, z: torch.Tensor, return_dict: bool = True) -> DecoderOutput:
        coarse = self.shuffle(self.decode_linear(z) + self.decode_refine(z))
        return DecoderOutput(sample=coarse + self.pixel_refine(coarse))

    @torch.no_grad()
    def init_from_pca(self, images: torch.Tensor) -> None:
        """Set the linear maps to the top principal components of the images' 8x8 blocks, and the
        scaling factor so that latents have unit standard deviation."""
        blocks = self.unshuffle(images).permute(0, 2, 3, 1).reshape(-1, BLOCK_VALUES).double()
        mean = blocks.mean(0)
        _, _, vectors = torch.linalg.svd(blocks - mean, full_matrices=False)
        basis = vectors[: self.config.latent_channels]  # (c, 192), orthonormal rows
        self.encode_linear.weight.copy_(basis[:, :, None, None].float())
        self.encode_linear.bias.copy_(-(basis @ mean).float())
        self.decode_linear.weight.copy_(basis.T[:, :, None, None].float())
        self.decode_linear.bias.copy_(mean.float())
        latents = (blocks - mean) @ basis.T
        self.register_to_config(scaling_factor=float(1.0 / latents.std()))

"""Latent-diffusion backbones: a VAE, a noise-predicting U-Net and a DDPM schedule."""

from .backbone import Backbone, load_backbone

__all__ = ["Backbone", "load_backbone"]

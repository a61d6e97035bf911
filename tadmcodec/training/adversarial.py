"""A weight-free realism objective: a patch discriminator trained alongside the generator.

PatchGAN (Isola et al. 2017) with spectral normalisation (Miyato et al. 2018) and the hinge loss; the
generator's adversarial term is weighted adaptively against its fidelity loss (Esser et al. 2021,
VQGAN): lambda = |grad L_rec| / |grad L_adv| at the generator's last layer, times a configured factor,
so neither term drowns the other whatever their scales. Real and generated images reach the
discriminator at random 0-7 pixel offsets: its strides multiply to 8, and without the shifts it cannot
see an 8-pixel grid (measured: a first CPU run of the conv decoder with unshifted inputs grew its grid
excess from 5-6 % to 11-15 % within 1000 adversarial steps).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def random_shift(x: torch.Tensor, period: int = 8) -> torch.Tensor:
    """x cropped by a random offset of 0 to period - 1 pixels on each axis (the same for the batch), so a
    discriminator whose strides multiply to `period` sees every phase of an 8-pixel grid and can tell
    block texture from real texture (otherwise it is blind to patterns of its own period)."""
    dx, dy = (int(v) for v in torch.randint(0, period, (2,)))
    return x[..., dy : x.shape[-2] - period + dy, dx : x.shape[-1] - period + dx]


class PatchDiscriminator(nn.Module):
    """Real/fake logits for overlapping patches of images in [-1, 1] (receptive field 70 px with 3 layers)."""

    def __init__(self, width: int = 32, layers: int = 3) -> None:
        super().__init__()
        modules: list[nn.Module] = [spectral_norm(nn.Conv2d(3, width, 4, 2, 1)), nn.LeakyReLU(0.2)]
        channels = width
        for _ in range(layers - 1):
            modules += [spectral_norm(nn.Conv2d(channels, channels * 2, 4, 2, 1)), nn.LeakyReLU(0.2)]
            channels *= 2
        modules += [spectral_norm(nn.Conv2d(channels, channels, 4, 1, 1)), nn.LeakyReLU(0.2)]
        modules += [spectral_norm(nn.Conv2d(channels, 1, 4, 1, 1))]
        self.layers = nn.Sequential(*modules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def discriminator_hinge_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def generator_adversarial_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return -fake_logits.mean()


def adaptive_weight(
    fidelity: torch.Tensor, adversarial: torch.Tensor, last_layer: torch.Tensor, limit: float = 1e4
) -> torch.Tensor:
    """VQGAN's balance: the ratio of the two losses' gradient norms at the last layer (no gradient)."""
    fidelity_grad = torch.autograd.grad(fidelity, last_layer, retain_graph=True)[0]
    adversarial_grad = torch.autograd.grad(adversarial, last_layer, retain_graph=True)[0]
    return (fidelity_grad.norm() / (adversarial_grad.norm() + 1e-4)).clamp(0.0, limit).detach()


class AdversarialTerm:
    """A patch discriminator trained alongside a generator, and the generator's adversarial loss term.

    Weights (a stage config's "loss"): "adversarial" (factor on the adaptive weight, 0 disables the term)
    and "adversarial_start" (generator steps trained on fidelity alone first, as Stable Diffusion's
    autoencoder starts its discriminator late); options: "discriminator" (width, layers) and "disc_lr".
    """

    def __init__(self, weights: dict[str, float], discriminator: dict[str, int], lr: float) -> None:
        self.factor = weights.get("adversarial", 0.0)
        self.start = weights.get("adversarial_start", 0)
        self.discriminator = PatchDiscriminator(**discriminator)
        self.optimizer = torch.optim.AdamW(self.discriminator.parameters(), lr=lr, betas=(0.5, 0.9))
        self.step = 0

    def __call__(
        self, real: torch.Tensor, fake: torch.Tensor, fidelity: torch.Tensor, last_layer: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Update the discriminator on (real, fake) and return the generator's weighted term (zero while
        the term is off) with the values to log."""
        self.step += 1
        if self.factor <= 0 or self.step <= self.start:
            return fidelity.new_zeros(()), {}
        self.discriminator.requires_grad_(True)
        real_logits = self.discriminator(random_shift(real))
        d_loss = discriminator_hinge_loss(real_logits, self.discriminator(random_shift(fake.detach())))
        self.optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        self.optimizer.step()
        self.discriminator.requires_grad_(False)
        g_adv = generator_adversarial_loss(self.discriminator(random_shift(fake)))
        weight = self.factor * adaptive_weight(fidelity, g_adv, last_layer)
        return weight * g_adv, {"d": d_loss.item(), "g_adv": g_adv.item(), "adv_w": weight.item()}

    def state(self) -> dict[str, Any]:
        return {"step": self.step, "optimizer": self.optimizer.state_dict()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])
        self.optimizer.load_state_dict(state["optimizer"])

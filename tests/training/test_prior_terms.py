"""The texture prior's structure and the loss terms that keep it free of block patterns (issue 29)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from tadmcodec.models.texture_prior import TexturePrior, smooth
from tadmcodec.quality.metrics import grid_excess
from tadmcodec.training.prior import gradient_profile, local_detail, local_spectrum, overshoot


def test_a_prior_with_a_silent_last_layer_returns_the_decode_itself() -> None:
    prior = TexturePrior(width=8, depth=2, texture_input=True)
    torch.nn.init.zeros_(prior.body[-1].weight)
    torch.nn.init.zeros_(prior.body[-1].bias)
    ramp = torch.linspace(-0.9, 0.9, 32).expand(1, 3, 32, 32).contiguous()  # smooth: any staircase would show
    out = prior(ramp, torch.rand(1, 1, 4, 4))
    assert torch.allclose(out, ramp, atol=1e-6)


def test_the_grid_term_sees_blocks_of_four_and_eight_and_not_smooth_images() -> None:
    torch.manual_seed(0)
    soft = F.interpolate(torch.rand(2, 3, 16, 16), size=64, mode="bicubic", align_corners=False)
    blocky = F.interpolate(torch.rand(2, 3, 16, 16), size=64, mode="nearest")
    flat_profile = gradient_profile(soft)
    assert flat_profile.shape == (2, 2, 8)
    assert (flat_profile - 1).abs().max() < 0.35
    profile = gradient_profile(blocky)  # all the gradient sits on phases 3 and 7, none elsewhere
    assert torch.allclose(profile[..., [3, 7]], torch.full_like(profile[..., [3, 7]], 4.0), rtol=0.1)
    assert profile[..., [0, 1, 2, 4, 5, 6]].abs().max() < 1e-6
    image = ((blocky[0].permute(1, 2, 0) + 1) * 127.5).clamp(0, 255).byte().numpy()
    assert min(grid_excess(np.ascontiguousarray(image))) > 2.0  # the metric agrees: a strong 8-px grid


def test_the_anti_aliased_unfold_damps_what_pixel_shuffle_phases_paint() -> None:
    """unfold_blur: a residual repeating every 4 pixels comes out at half its amplitude, one repeating
    every 2 pixels is removed, and a smooth residual passes unchanged (away from the edges)."""
    x = torch.arange(32, dtype=torch.float32)
    period4 = torch.cos(x * torch.pi / 2).expand(1, 3, 32, 32)
    period2 = torch.cos(x * torch.pi).expand(1, 3, 32, 32)
    ramp = (x / 31).expand(1, 3, 32, 32)
    assert torch.allclose(smooth(period4)[..., 2:-2], 0.5 * period4[..., 2:-2], atol=1e-6)
    assert smooth(period2)[..., 2:-2].abs().max() < 1e-6
    assert torch.allclose(smooth(ramp)[..., 1:-1], ramp[..., 1:-1], atol=1e-6)
    plain, blurred = TexturePrior(width=8, depth=2), TexturePrior(width=8, depth=2, unfold_blur=True)
    blurred.load_state_dict(plain.state_dict())  # the same weights: only the unfold differs
    decode = torch.rand(1, 3, 32, 32) * 2 - 1
    residual, damped = plain(decode) - decode, blurred(decode) - decode
    assert torch.allclose(F.avg_pool2d(damped, 8), F.avg_pool2d(residual, 8), atol=0.02)  # same local mean
    assert damped.diff(dim=-1).abs().mean() < 0.8 * residual.diff(dim=-1).abs().mean()


def test_the_local_terms_tell_a_hatch_on_a_flat_area_from_the_flat_area() -> None:
    """A diagonal hatch painted over a flat grey window: the detail term sees its energy, the spectrum term
    its orientation (a hatch of the other diagonal, with the same energy, is far in spectrum only)."""
    yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    flat = torch.zeros(1, 3, 32, 32)
    hatch = (0.2 * torch.sin((xx + yy) * torch.pi / 2)).expand(1, 3, 32, 32)
    other = (0.2 * torch.sin((xx - yy) * torch.pi / 2)).expand(1, 3, 32, 32)
    assert local_detail(flat).max() < 1e-6 and (local_detail(hatch) > 1).all()
    assert torch.allclose(local_detail(hatch), local_detail(other), rtol=0.05)
    assert local_spectrum(flat).abs().max() < 0.01
    assert F.l1_loss(local_spectrum(hatch), local_spectrum(other)) > 0.5
    assert F.l1_loss(local_spectrum(hatch), local_spectrum(hatch.roll(1, -1))) < 0.05  # shifts barely count


def test_the_overshoot_term_costs_an_outline_along_an_edge_and_not_the_edge_itself() -> None:
    edge = torch.full((1, 3, 16, 16), -0.5)
    edge[..., 8:] = 0.5
    assert overshoot(edge, edge) == 0
    outlined = edge.clone()
    outlined[..., 8] = 0.9  # a bright column along the bright side of the edge: 0.4 above its range
    assert torch.isclose(overshoot(outlined, edge), torch.tensor(0.4 / 16))
    out = edge.clone().requires_grad_(True)
    overshoot(out * 1.5, edge).backward()  # an over-sharpened edge: descent lifts the dark side, lowers the bright
    assert (out.grad[..., :8] < 0).all() and (out.grad[..., 8:] > 0).all()

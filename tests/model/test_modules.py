"""The TADM modules in isolation: invertibility, quantization, TPM range, hybrid scheduler."""

from __future__ import annotations

import torch

from tadmcodec.backbones.schedule import SD_SCHEDULE, alphas_cumprod
from tadmcodec.models.dfrm import DFRM
from tadmcodec.models.hybrid_scheduler import HybridScheduler
from tadmcodec.models.invertible import InvertibleMapping
from tadmcodec.models.tpm import TimestepPredictor
from tadmcodec.nn.pixels import quantize_lr


def _perturb(module: torch.nn.Module, std: float = 0.1) -> None:
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.add_(torch.randn_like(parameter) * std)


def test_invertible_mapping_is_exact() -> None:
    torch.manual_seed(0)
    mapping = InvertibleMapping(3, blocks=4, hidden=16)
    _perturb(mapping)
    v = torch.randn(2, 3, 23, 17)
    y = mapping(v)
    assert (y - v).abs().max() > 1e-2  # not the identity any more
    assert torch.allclose(mapping.inverse(y), v, atol=1e-5)
    assert torch.allclose(mapping(mapping.inverse(v)), v, atol=1e-5)


def test_quantization_rounds_to_8_bits_with_straight_through_gradient() -> None:
    y = torch.tensor([-0.2, 0.1234, 0.5, 1.3], requires_grad=True)
    q = quantize_lr(y)
    assert torch.allclose(q * 255, torch.round(q * 255))
    assert q.min() >= 0 and q.max() <= 1
    q.sum().backward()
    assert torch.equal(y.grad, torch.tensor([0.0, 1.0, 1.0, 0.0]))  # clamp blocks, rounding passes


def test_dfrm_shapes_for_both_scales() -> None:
    for scale in (16, 32):
        dfrm = DFRM(latent_channels=4, scale=scale, width=16, blocks=1, flow_blocks=2, flow_hidden=8)
        x = torch.rand(1, 3, 64, 96) * 2 - 1
        z_lr, y = dfrm.downscale(x, torch.randn(1, 4, 8, 12))
        assert z_lr.shape == y.shape == (1, 3, 64 // scale, 96 // scale)
        assert dfrm.decoder(dfrm.mapping.inverse(y)).shape == (1, 4, 8, 12)


def test_fresh_encoder_gives_the_area_downscale() -> None:
    """Zero-initialised output and identity F: the first LR is a plain thumbnail, as guidance wants."""
    dfrm = DFRM(latent_channels=4, scale=16, width=16, blocks=1)
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    _, y = dfrm.downscale(x, torch.randn(1, 4, 8, 8))
    expected = (torch.nn.functional.avg_pool2d(x, 16) + 1) / 2
    assert torch.allclose(y, expected, atol=1e-6)


def test_tpm_output_range() -> None:
    tpm = TimestepPredictor(latent_channels=4, width=8)
    _perturb(tpm, 3.0)
    t = tpm(torch.randn(16, 4, 16, 16) * 10)
    assert t.shape == (16,)
    assert (t >= 1).all() and (t <= 999).all()


def _scheduler() -> HybridScheduler:
    scheduler = HybridScheduler(1000, latent_channels=4, width=16)
    scheduler.alphas_cumprod.copy_(alphas_cumprod(SD_SCHEDULE))
    return scheduler


def test_hybrid_scheduler_starts_as_the_fixed_path() -> None:
    scheduler = _scheduler()
    z_hat, eps = torch.randn(3, 4, 8, 8), torch.randn(3, 4, 8, 8)
    t = torch.tensor([1.3, 400.6, 998.0])
    abar = scheduler.alphas_cumprod[torch.tensor([1, 401, 998])][:, None, None, None]
    expected = (z_hat - torch.sqrt(1 - abar) * eps) / torch.sqrt(abar)
    assert torch.equal(scheduler(z_hat, eps, t), scheduler.fixed(z_hat, eps, t))
    assert torch.allclose(scheduler(z_hat, eps, t), expected, rtol=1e-5, atol=1e-5)


def test_gradients_reach_the_tpm() -> None:
    torch.manual_seed(0)
    tpm = TimestepPredictor(latent_channels=4, width=8)
    scheduler = _scheduler()
    z_hat, eps, target = torch.randn(2, 4, 16, 16), torch.randn(2, 4, 16, 16), torch.randn(2, 4, 16, 16)
    loss = (scheduler(z_hat, eps, tpm(z_hat)) - target).abs().mean()
    loss.backward()
    assert tpm.head.bias.grad is not None and tpm.head.bias.grad.abs() > 0
    assert all(p.grad is not None for p in tpm.parameters())
    assert scheduler.conv_out.weight.grad.abs().sum() > 0  # the zero convolution starts learning

"""Detail synthesis (release 4): a VAE decoder that shapes position-keyed noise into texture of the energy
the stored timesteps encode, scaled by the `detail` dial."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tadmcodec.backbones.position_noise import position_noise
from tadmcodec.errors import MissingWeightsError, TadmError
from tadmcodec.io.raster import ArrayRaster
from tadmcodec.pipeline.image_decoder import texture_energy
from tadmcodec.quality.metrics import detail_energy
from tadmcodec.runtime.codec import Codec
from tests.conftest import build_model_folder

MAPPING = (1.0, 5.0, 10, 200)


@pytest.fixture(scope="module")
def codec(tmp_path_factory: pytest.TempPathFactory) -> Codec:
    root = tmp_path_factory.mktemp("detail")
    folder = build_model_folder(root, 16, detail_synthesis=True, texture_timesteps=MAPPING, detail_strength=0.5)
    return Codec.load(str(folder), allow_path=True)


def _textured(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    amplitude = (np.arange(width) / width * 50.0)[None, :, None]  # flat on the left, textured on the right
    return np.clip(128 + rng.normal(0, 1, (height, width, 3)) * amplitude, 0, 255).astype(np.uint8)


def test_position_noise_is_the_same_at_a_pixel_whatever_the_tile() -> None:
    whole = position_noise(3, 96, 128, (40, 16))
    part = position_noise(3, 30, 50, (70, 50))
    assert torch.equal(part, whole[:, 34:64, 30:80])
    assert abs(whole.mean().item()) < 0.05 and abs(whole.var().item() - 1.0) < 0.05
    assert abs(np.corrcoef(whole[0].ravel(), whole[1].ravel())[0, 1]) < 0.05  # channels independent
    assert abs(np.corrcoef(whole[0, :, :-1].ravel(), whole[0, :, 1:].ravel())[0, 1]) < 0.05  # white


def test_zero_detail_is_the_decoder_without_head_and_texture_is_grey(codec: Codec) -> None:
    vae = codec.model.backbone.vae
    z = torch.randn(2, 4, 6, 6)
    with torch.no_grad():
        plain = vae.decode(z).sample
        zero = vae.decode(z, torch.zeros(2, 1, 6, 6), [(0, 0), (64, 8)]).sample
        some = vae.decode(z, torch.full((2, 1, 6, 6), 100.0), [(0, 0), (64, 8)]).sample
    assert torch.equal(plain, zero)
    added = some - plain
    assert added.abs().mean() > 1e-3
    assert torch.allclose(added[:, 0], added[:, 1], atol=1e-6) and torch.allclose(added[:, 0], added[:, 2], atol=1e-6)


def test_injected_noise_follows_the_pixel_position(codec: Codec) -> None:
    """A latent decoded at origin (x, y) gives, away from its borders, the pixels of the same place in a
    decode of a larger latent at origin (0, 0): the texture belongs to the image, not to the tile."""
    vae = codec.model.backbone.vae
    z = torch.randn(1, 4, 40, 40)
    detail = torch.full((1, 1, 40, 40), 200.0)
    with torch.no_grad():
        whole = vae.decode(z, detail, [(0, 0)]).sample
        part = vae.decode(z[..., 8:40, 6:38], detail[..., 8:40, 6:38], [(48, 64)]).sample
        shifted = vae.decode(z[..., 8:40, 6:38], detail[..., 8:40, 6:38], [(56, 64)]).sample
    inner = (slice(None), slice(None), slice(96, 160), slice(96, 160))  # 12 latent pixels from every border
    assert torch.allclose(part[inner], whole[:, :, 64:320, 48:304][inner], atol=1e-5)
    assert not torch.allclose(shifted[inner], part[inner], atol=1e-3)


def test_more_detail_gives_more_fine_detail(codec: Codec) -> None:
    lr, grid = codec.encode(_textured(128, 256))
    energies = [
        detail_energy(codec.decoder.decode(ArrayRaster(lr), grid, (256, 128), detail=d)) for d in (0.0, 0.5, 1.0)
    ]
    assert energies[0] < energies[1] < energies[2]


def test_region_decode_with_detail_is_the_box_of_the_full_decode(codec: Codec) -> None:
    lr, grid = codec.encode(_textured(200, 300, seed=1))
    full = codec.decoder.decode(ArrayRaster(lr), grid, (300, 200), detail=1.0)
    for box in [(0, 0, 64, 64), (37, 91, 251, 177), (150, 10, 300, 200)]:
        region = codec.decoder.decode(ArrayRaster(lr), grid, (300, 200), box, detail=1.0)
        assert np.array_equal(region, full[box[1] : box[3], box[0] : box[2]])


def test_the_timestep_dial_does_not_change_the_requested_texture(codec: Codec) -> None:
    """Detail follows the stored timesteps (the original's texture), not timesteps the dial turned."""
    lr, grid = codec.encode(_textured(128, 256))
    decoder = codec.decoder.patch_renderer(ArrayRaster(lr), grid, 1.0)
    halved = type(grid)(grid.patch_size, grid.overlap, grid.timesteps // 2)
    dialed = codec.decoder.patch_renderer(ArrayRaster(lr), halved, 1.0, stored_timesteps=grid.timesteps)
    assert np.array_equal(decoder.detail, dialed.detail)
    assert not np.array_equal(decoder.detail, codec.decoder.patch_renderer(ArrayRaster(lr), halved, 1.0).detail)


def test_texture_energy_inverts_the_texture_timesteps(codec: Codec) -> None:
    energies = torch.tensor([0.5, 3.0, 20.0, 100.0, 1000.0], dtype=torch.float64)
    back = torch.from_numpy(
        texture_energy(codec.model.texture_timesteps(energies).double().numpy(), codec.model.config.texture_timesteps)
    )
    low, high = np.expm1(MAPPING[0]), np.expm1(MAPPING[1])
    expected = energies.clamp(low, high)
    assert torch.allclose(torch.log1p(back), torch.log1p(expected), atol=(MAPPING[1] - MAPPING[0]) / 190 / 2 + 1e-9)


@pytest.mark.parametrize("detail", [-0.1, 2.5])
def test_a_detail_outside_its_range_is_refused(codec: Codec, detail: float) -> None:
    lr, grid = codec.encode(_textured(64, 64))
    with pytest.raises(TadmError, match="detail"):
        codec.decoder.decode(ArrayRaster(lr), grid, (64, 64), detail=detail)


def test_models_without_detail_synthesis_ignore_the_dial(tmp_path: Path) -> None:
    codec = Codec.load(str(build_model_folder(tmp_path, 16, texture_timesteps=MAPPING)), allow_path=True)
    lr, grid = codec.encode(_textured(64, 128))
    plain = codec.decoder.decode(ArrayRaster(lr), grid, (128, 64))
    assert np.array_equal(plain, codec.decoder.decode(ArrayRaster(lr), grid, (128, 64), detail=1.0))


def test_a_detail_head_is_saved_apart_so_the_decoder_file_stays_byte_identical(tmp_path: Path) -> None:
    """Release 4's VAE is release 3's plus a head: its main weight file can stay a link to release 3's."""
    from tadmcodec.backbones.tiny_vae import TinyAutoencoder

    plain = TinyAutoencoder(latent_channels=4, width=8, decoder="hybrid", decoder_widths=(8, 8, 8, 8))
    with_head = TinyAutoencoder(**dict(plain.config) | {"detail_head": 4})
    with_head.load_state_dict(plain.state_dict(), strict=False)
    plain.save_pretrained(tmp_path / "plain")
    with_head.save_pretrained(tmp_path / "head")
    main = "diffusion_pytorch_model.safetensors"
    assert (tmp_path / "plain" / main).read_bytes() == (tmp_path / "head" / main).read_bytes()
    assert (tmp_path / "head" / "detail_head.safetensors").is_file()
    assert not (tmp_path / "plain" / "detail_head.safetensors").exists()
    loaded = TinyAutoencoder.from_pretrained(tmp_path / "head")
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in with_head.state_dict().items())
    (tmp_path / "head" / "detail_head.safetensors").unlink()
    with pytest.raises(MissingWeightsError, match="detail_head"):
        TinyAutoencoder.from_pretrained(tmp_path / "head")

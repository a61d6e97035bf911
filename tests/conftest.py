"""Shared helpers: small synthetic containers built in memory, and small random models in real
model folders, loaded through the same code as shipped ones. Torch is imported only inside the model
fixtures, so the container tests run without it (tests/formats/test_torch_free.py checks)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tadmcodec_formats import Metadata
from tests.containers import random_container as make_container

if TYPE_CHECKING:
    from tadmcodec.runtime.codec import Codec

EXTRAS_MARKERS = ("ray", "sd21", "eval", "gpu", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that needs an optional extra or runs the GPU job is also slow, so `-m "not slow"` runs with
    the test-core extra alone."""
    for item in items:
        if any(item.get_closest_marker(name) for name in EXTRAS_MARKERS):
            item.add_marker(pytest.mark.slow)


# The suite keeps weight digests in a cache of its own (inherited by the CLI it runs), not the user's.
os.environ.setdefault("TADMCODEC_DIGEST_CACHE", str(Path(tempfile.mkdtemp(prefix="tadmcodec-digests-")) / "d.json"))


@pytest.fixture
def container() -> tuple[bytes, dict]:
    return make_container(metadata=Metadata(exif=b"II*\x00", icc_profile=b"icc", xmp=b"<x/>", text={"k": "v"}))


SMALL = {
    "dfrm_width": 16,
    "dfrm_blocks": 1,
    "flow_blocks": 2,
    "flow_hidden": 8,
    "tpm_width": 8,
    "scheduler_width": 16,
    "patch_size": 16,
    "patch_overlap": 4,
    "lr_halo": 4,
    "lora_rank": 2,
}


def build_model_folder(
    root: Path,
    scale: int,
    seed: int = 0,
    perturb: bool = True,
    folder_name: str | None = None,
    detail_synthesis: bool = False,
    texture_prior: bool = False,
    **config: object,
) -> Path:
    """A tiny random backbone (with detail_synthesis, its VAE a hybrid decoder with a detail head, every
    zero-initialised weight made non-zero) and a TADM model whose zero-initialised branches are made
    non-zero; with texture_prior, a small random texture prior that reads texture positions (the model
    then takes its timesteps from texture); config overrides the model's small test configuration."""
    import torch

    from tadmcodec.backbones import load_backbone
    from tadmcodec.backbones.tiny import save_tiny_backbone
    from tadmcodec.backbones.tiny_vae import TinyAutoencoder
    from tadmcodec.models.lora import add_lora
    from tadmcodec.models.tadm import TADMModel
    from tadmcodec.runtime.model_loader import save_model_folder

    torch.manual_seed(seed)
    backbone_path = root / ("tiny-backbone-detail" if detail_synthesis else "tiny-backbone")
    if not backbone_path.exists():
        vae = None
        if detail_synthesis:
            vae = TinyAutoencoder(
                latent_channels=4, width=8, decoder="hybrid", decoder_widths=(8, 8, 8, 8), detail_head=8
            )
            with torch.no_grad():
                for parameter in vae.parameters():
                    if parameter.abs().sum() == 0:
                        parameter.normal_(0, 0.1)
        save_tiny_backbone(backbone_path, latent_channels=4, vae_width=8, unet_width=16, vae=vae)
    backbone = load_backbone(backbone_path)
    model = TADMModel(
        **{"scale": scale, "latent_channels": 4, "encode_tile": 8 * scale, "encode_halo": 2 * scale, **SMALL, **config}
    )
    model.set_schedule(backbone.alphas_cumprod)
    add_lora(backbone.unet, model.config.lora_rank, model.config.lora_targets)
    if perturb:
        with torch.no_grad():
            for name, parameter in [*model.named_parameters(), *backbone.unet.named_parameters()]:
                if "lora_B" in name or parameter.abs().sum() == 0:
                    parameter.normal_(0, 0.02)
    folder = root / (folder_name or f"test-{scale}x")
    save_model_folder(folder, model, backbone, backbone_path)
    if texture_prior:
        from tadmcodec.models.texture_prior import TexturePrior

        TexturePrior(width=8, depth=2, texture_input=True).save_pretrained(folder / "texture_prior")
    return folder


@pytest.fixture(scope="session")
def model_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    build_model_folder(root, 16)
    build_model_folder(root, 32)
    return root


def _codec(folder: Path) -> Codec:
    from tadmcodec.runtime.codec import Codec
    from tadmcodec.runtime.model_loader import load_model_folder

    return Codec(load_model_folder(folder), "cpu")


@pytest.fixture(scope="session")
def codec16(model_root: Path) -> Codec:
    return _codec(model_root / "test-16x")


@pytest.fixture(scope="session")
def codec32(model_root: Path) -> Codec:
    return _codec(model_root / "test-32x")


@pytest.fixture(scope="session")
def registered_models(model_root: Path) -> Iterator[Path]:
    """The test models on TADMCODEC_MODEL_PATH, so files naming them decode."""
    previous = os.environ.get("TADMCODEC_MODEL_PATH")
    os.environ["TADMCODEC_MODEL_PATH"] = str(model_root)
    yield model_root
    if previous is None:
        del os.environ["TADMCODEC_MODEL_PATH"]
    else:
        os.environ["TADMCODEC_MODEL_PATH"] = previous


@pytest.fixture(scope="session")
def codec16_blocks(model_root: Path) -> Codec:
    """The 16x test model with z_hat computed per 12-latent block: patches (16, stride 12) straddle blocks."""
    return _codec(build_model_folder(model_root, 16, latent_block=12, folder_name="test-16x-blocks"))

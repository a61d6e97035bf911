"""The sd21 path for real: tiny random diffusers classes saved in SD's folder layout, pinned hashes
computed for the test folder, and loaded through the code a user's checkpoint takes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tadmcodec.backbones import load_backbone
from tadmcodec.backbones.schedule import SD_SCHEDULE
from tadmcodec.errors import MissingWeightsError
from tadmcodec.io.raster import ArrayRaster
from tadmcodec.models.lora import add_lora
from tadmcodec.models.tadm import TADMModel
from tadmcodec.runtime.codec import Codec
from tadmcodec.runtime.model_loader import load_model_folder, save_model_folder
from tadmcodec.store.hashing import folder_hashes, verify_pinned
from tests.conftest import SMALL

pytestmark = pytest.mark.sd21

PARTS = ("vae", "unet", "scheduler", "text_encoder", "tokenizer")


def save_tiny_sd_layout(folder: Path) -> None:
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    AutoencoderKL(
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 8, 16, 16),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=8,
    ).save_pretrained(folder / "vae", safe_serialization=True)
    UNet2DConditionModel(
        sample_size=16,
        in_channels=4,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=(16, 32),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=16,
        attention_head_dim=4,
        norm_num_groups=8,
    ).save_pretrained(folder / "unet", safe_serialization=True)
    DDPMScheduler(**SD_SCHEDULE).save_pretrained(folder / "scheduler")
    vocabulary = folder / "vocab-src"
    vocabulary.mkdir()
    (vocabulary / "vocab.json").write_text(json.dumps({"<|startoftext|>": 0, "<|endoftext|>": 1, "a</w>": 2}))
    (vocabulary / "merges.txt").write_text("#version: 0.2\n")
    CLIPTokenizer(str(vocabulary / "vocab.json"), str(vocabulary / "merges.txt"), model_max_length=77).save_pretrained(
        folder / "tokenizer"
    )
    config = CLIPTextConfig(
        vocab_size=3,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        max_position_embeddings=77,
        bos_token_id=0,
        eos_token_id=1,
    )
    CLIPTextModel(config).save_pretrained(folder / "text_encoder", safe_serialization=True)


@pytest.fixture(scope="module")
def sd_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("sd21")
    folder = root / "sd21-base"
    save_tiny_sd_layout(folder)
    table = root / "sd21-test.json"
    table.write_text(json.dumps({"files": folder_hashes(folder, PARTS)}))
    return folder, table


def test_pinned_hashes_name_the_bad_file(sd_folder: tuple[Path, Path], tmp_path: Path) -> None:
    folder, table = sd_folder
    assert "unet/diffusion_pytorch_model.safetensors" in verify_pinned(folder, table)
    entries = json.loads(table.read_text())["files"]
    entries["vae/diffusion_pytorch_model.safetensors"] = "0" * 64
    entries["unet/extra.safetensors"] = "0" * 64
    for name, files in (
        ("differs", {k: v for k, v in entries.items() if k != "unet/extra.safetensors"}),
        ("missing", entries),
    ):
        bad = tmp_path / f"{name}.json"
        bad.write_text(json.dumps({"files": files}))
        with pytest.raises(MissingWeightsError, match="unet/extra.safetensors" if name == "missing" else "vae/diff"):
            verify_pinned(folder, bad)


def test_unpinned_table_is_refused(sd_folder: tuple[Path, Path]) -> None:
    shipped = Path(__file__).parents[2] / "tadmcodec" / "backbones" / "pinned" / "sd21-base.json"
    with pytest.raises(MissingWeightsError, match="no pinned SHA-256"):
        verify_pinned(sd_folder[0], shipped)


def test_conditional_backbone_uses_the_null_embedding(sd_folder: tuple[Path, Path]) -> None:
    backbone = load_backbone(sd_folder[0])
    assert backbone.conditional and backbone.null_embedding.shape == (1, 77, 16)
    z = torch.randn(3, 4, 16, 16)
    with torch.no_grad():
        eps = backbone.predict_noise(z, torch.tensor([5, 500, 900]))
        single = backbone.predict_noise(z[1:2], torch.tensor([500]))
    assert eps.shape == z.shape
    assert torch.allclose(eps[1:2], single, atol=1e-5)  # one timestep per batch element


def test_sd21_model_folder_round_trip(sd_folder: tuple[Path, Path], tmp_path: Path) -> None:
    folder, table = sd_folder
    backbone = load_backbone(folder)
    model = TADMModel(scale=16, backbone="sd21", latent_channels=4, encode_tile=128, encode_halo=32, **SMALL)
    model.set_schedule(backbone.alphas_cumprod)
    add_lora(backbone.unet, model.config.lora_rank, model.config.lora_targets)
    local_table = tmp_path / "pinned.json"
    local_table.write_text(table.read_text())
    save_model_folder(tmp_path / "sd-16x", model, backbone, folder, pinned="../pinned.json")
    assert (tmp_path / "sd-16x" / "null_embedding.safetensors").is_file()
    loaded = load_model_folder(tmp_path / "sd-16x")
    assert torch.equal(loaded.backbone.null_embedding, backbone.null_embedding)
    codec = Codec(loaded, "cpu")
    image = (np.random.default_rng(0).random((70, 90, 3)) * 255).astype(np.uint8)
    lr, grid = codec.encode(image)
    assert codec.decoder.decode(ArrayRaster(lr), grid, (90, 70)).shape == (70, 90, 3)

"""The inference U-Net and LoRA compute what diffusers' UNet2DModel and peft compute, bit for bit, on the
shipped weights and on a random small configuration: decoding may drop diffusers and peft only so."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

import tadmcodec
from tadmcodec.backbones.tiny import tiny_unet
from tadmcodec.backbones.unet import UNet
from tadmcodec.models.lora import add_lora, load_lora, merge_lora

SHIPPED = Path(tadmcodec.__file__).parent / "weights" / "tiny-backbone"
pytestmark = pytest.mark.sd21
TARGETS = ["to_q", "to_k", "to_v", "to_out.0", "conv1", "conv2"]


def _pair(folder: Path, channels: int) -> tuple[torch.nn.Module, UNet, torch.Tensor]:
    from diffusers import UNet2DModel

    reference = UNet2DModel.from_pretrained(folder, subfolder="unet").eval()
    ours = UNet.from_pretrained(folder, subfolder="unet")
    torch.manual_seed(0)
    return reference, ours, torch.randn(3, channels, 32, 32)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("unet")
    torch.manual_seed(1)
    tiny_unet(latent_channels=4, width=32).save_pretrained(folder / "unet")
    return folder


@pytest.mark.parametrize("which", ["shipped", "small"])
def test_unet_matches_diffusers(which: str, small: Path) -> None:
    reference, ours, z = _pair(SHIPPED if which == "shipped" else small, 16 if which == "shipped" else 4)
    assert set(reference.state_dict()) == set(ours.state_dict())
    with torch.no_grad():
        for t in (torch.tensor([3, 77, 999]), torch.tensor([3.0, 77.5, 999.0])):
            assert torch.equal(reference(z, t).sample, ours(z, t))


def test_lora_matches_peft(small: Path) -> None:
    from peft import LoraConfig, get_peft_model_state_dict, inject_adapter_in_model

    reference, ours, z = _pair(small, 4)
    inject_adapter_in_model(LoraConfig(r=4, lora_alpha=4, target_modules=TARGETS, init_lora_weights=True), reference)
    with torch.no_grad():
        for name, parameter in reference.named_parameters():
            if "lora_" in name:
                parameter.normal_(0, 0.05)
    state = {k: v.contiguous() for k, v in get_peft_model_state_dict(reference).items()}
    add_lora(ours, 4, TARGETS)
    load_lora(ours, state)
    with torch.no_grad():
        t = torch.tensor([10, 400, 900])
        assert torch.equal(reference.eval()(z, t).sample, ours.eval()(z, t))


def test_merged_lora_computes_the_adapted_unet(small: Path) -> None:
    _, adapted, z = _pair(small, 4)
    add_lora(adapted, 4, TARGETS)
    with torch.no_grad():
        for name, parameter in adapted.named_parameters():
            if "lora_" in name:
                parameter.normal_(0, 0.05)
    merged = copy.deepcopy(adapted)
    merge_lora(merged)
    assert not any("lora_" in name for name in merged.state_dict())
    with torch.no_grad():
        t = torch.tensor([10, 400, 900])
        expected, got = adapted.eval()(z, t), merged.eval()(z, t)
        without_adapters = UNet.from_pretrained(small, subfolder="unet").eval()(z, t)
    assert (expected - without_adapters).abs().max() > 1e-2  # the adapters matter
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)

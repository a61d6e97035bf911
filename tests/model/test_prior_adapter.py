"""A texture prior stored as a low-rank adapter on an earlier prior (tadmcodec.store.low_rank): it adds
what LoRA layers compute, both loaders apply it alike, tools.prior.low_rank's factors give back a change
of that rank, an adapter that does not fit its prior is a one-line error, and a prior trained as an
adapter (tadmcodec.training.prior_adapter) reloads as trained."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file, save_file
from torch import nn

import tadmcodec
from tadmcodec.errors import MissingWeightsError
from tadmcodec.models.lora import add_lora, lora_state_dict
from tadmcodec.models.texture_prior import TexturePrior
from tadmcodec.runtime.graph_export import export_graphs
from tadmcodec.runtime.model_loader import load_model_folder
from tadmcodec.runtime.onnx_networks import inference_weights
from tadmcodec.store.folder import PRIOR_ADAPTER, TEXTURE_PRIOR
from tadmcodec.store.low_rank import apply_adapter
from tadmcodec.training.prior_adapter import save_adapter, with_adapter
from tests.conftest import build_model_folder
from tools.prior.low_rank import adapter

RANK = 2


def test_an_adapter_adds_what_lora_layers_compute() -> None:
    torch.manual_seed(0)
    layers = add_lora(nn.Sequential(nn.Conv2d(5, 7, 3, padding=1), nn.Linear(4, 3)), RANK, ["0", "1"])
    with torch.no_grad():
        layers[0].lora_B.weight.normal_()
        layers[1].lora_B.weight.normal_()
    x, v = torch.randn(1, 5, 6, 6), torch.randn(2, 4)
    with torch.no_grad():
        expected = layers[0](x), layers[1](v)  # base + B(A(x)), computed by the layers
    base = {k: t.numpy() for k, t in layers.state_dict().items() if ".lora_" not in k}
    merged = apply_adapter(base, {k: t.numpy() for k, t in lora_state_dict(layers).items()})
    plain = nn.Sequential(nn.Conv2d(5, 7, 3, padding=1), nn.Linear(4, 3))
    plain.load_state_dict({k: torch.from_numpy(t) for k, t in merged.items()})
    with torch.no_grad():
        assert torch.allclose(plain[0](x), expected[0], atol=1e-5)
        assert torch.allclose(plain[1](v), expected[1], atol=1e-5)


@pytest.fixture(scope="module")
def adapted_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray]]:
    """A model whose prior is an adapter (rank 2) on its own base prior, and the tuned prior's weights: the
    base plus a rank-2 change of every convolution and new biases and slopes."""
    root = tmp_path_factory.mktemp("adapter")
    folder = build_model_folder(
        root, 16, folder_name="test-16x-adapter", texture_prior=True, texture_timesteps=[0.5, 5.0, 10, 100]
    )
    prior_weights = folder / TEXTURE_PRIOR / "diffusion_pytorch_model.safetensors"
    base = load_file(prior_weights)
    rng = np.random.default_rng(1)
    tuned = {}
    for key, value in base.items():
        if value.ndim == 4:
            up, down = rng.normal(0, 0.1, (value.shape[0], RANK)), rng.normal(0, 0.1, (RANK, value[0].size))
            tuned[key] = value + (up @ down).reshape(value.shape).astype(np.float32)
        else:
            tuned[key] = value + rng.normal(0, 0.1, value.shape).astype(np.float32)
    tensors, kept = adapter(base, tuned, RANK)
    assert kept > 0.999
    save_file(tensors, folder / TEXTURE_PRIOR / PRIOR_ADAPTER)
    export_graphs(load_model_folder(folder).for_inference(), folder)  # graphs name the weights with the adapter
    return folder, tuned


def test_both_loaders_apply_the_adapter(adapted_model: tuple[Path, dict[str, np.ndarray]]) -> None:
    folder, tuned = adapted_model
    on_torch = TexturePrior.from_pretrained(folder, TEXTURE_PRIOR).state_dict()
    on_numpy = {
        k[len("texture_prior.") :]: v for k, v in inference_weights(folder).items() if k.startswith("texture_prior.")
    }
    assert set(on_torch) == set(on_numpy) == set(tuned)
    for key, value in tuned.items():
        assert np.array_equal(on_torch[key].numpy(), on_numpy[key]), key
        assert np.allclose(on_numpy[key], value, atol=2e-3), key  # the factors are stored in float16


def test_a_model_with_an_adapter_decodes_alike_on_both_runtimes(
    adapted_model: tuple[Path, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, _ = adapted_model
    monkeypatch.setenv("TADMCODEC_MODEL_PATH", str(folder.parent))
    image = np.clip(np.random.default_rng(4).normal(128, 40, (96, 128, 3)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    tadmcodec.encode(image, buffer, model=str(folder))
    on_torch = tadmcodec.decode(buffer.getvalue(), runtime="torch", detail=1.0, as_array=True)
    on_onnx = tadmcodec.decode(buffer.getvalue(), runtime="onnx", detail=1.0, as_array=True)
    assert np.abs(on_torch.astype(int) - on_onnx.astype(int)).max() <= 1


def test_an_adapter_for_another_network_is_a_one_line_error(adapted_model: tuple[Path, dict], tmp_path: Path) -> None:
    folder, _ = adapted_model
    prior = tmp_path / "prior"
    shutil.copytree(folder / TEXTURE_PRIOR, prior)
    save_file({"body.99.weight": np.zeros(3, np.float32)}, prior / PRIOR_ADAPTER)
    with pytest.raises(MissingWeightsError, match=r"cannot apply .*lora.safetensors: 'body.99.weight'") as caught:
        TexturePrior.from_pretrained(prior)
    assert "\n" not in str(caught.value)


def test_a_prior_trained_as_an_adapter_reloads_as_trained(tmp_path: Path) -> None:
    torch.manual_seed(0)
    TexturePrior(width=8, depth=2, texture_input=True).save_pretrained(tmp_path / "base")
    prior = with_adapter(TexturePrior.from_pretrained(tmp_path / "base"), RANK)
    frozen = [n for n, p in prior.named_parameters() if not p.requires_grad]
    assert frozen and all(n.endswith(".weight") and ".lora_" not in n for n in frozen)
    trained = [p for p in prior.parameters() if p.requires_grad]
    optimiser = torch.optim.Adam(trained, 1e-2)
    x, texture = torch.rand(1, 3, 16, 16) * 2 - 1, torch.rand(1, 1, 2, 2)
    for _ in range(3):
        optimiser.zero_grad()
        prior(x, texture).square().mean().backward()
        optimiser.step()
    save_adapter(prior, tmp_path / "base", tmp_path / "tuned")
    assert (tmp_path / "tuned" / PRIOR_ADAPTER).is_file()
    base_bytes = (tmp_path / "base" / "diffusion_pytorch_model.safetensors").read_bytes()
    assert (tmp_path / "tuned" / "diffusion_pytorch_model.safetensors").read_bytes() == base_bytes
    untouched = TexturePrior.from_pretrained(tmp_path / "base")
    reloaded = TexturePrior.from_pretrained(tmp_path / "tuned")
    with torch.no_grad():
        expected, before = prior(x, texture), untouched(x, texture)
        assert not torch.allclose(reloaded(x, texture), before, atol=1e-4)  # training changed it
        assert torch.allclose(reloaded(x, texture), expected, atol=2e-3)  # float16 factors

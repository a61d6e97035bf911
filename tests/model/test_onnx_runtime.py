"""The onnx runtime: exported graphs compute what torch's networks compute, with the model's own
weights (refused after those change); the auto runtime's choice and its refusals; a decode on it
never imports torch."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.numpy import load_file, save_file

import tadmcodec
from tadmcodec.errors import MissingWeightsError, TadmError
from tadmcodec.runtime.decoders import load_decoder
from tadmcodec.runtime.graph_export import export_graphs
from tadmcodec.runtime.model_loader import load_model_folder
from tadmcodec.runtime.onnx_networks import OnnxNetworks, bicubic_matrix
from tadmcodec.runtime.torch_networks import TorchNetworks
from tests.conftest import build_model_folder

REFERENCE = Path(__file__).parents[1] / "quality" / "reference"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A test model (z_hat per 12-latent block, 16x) with its graphs exported."""
    folder = build_model_folder(tmp_path_factory.mktemp("onnx"), 16, latent_block=12, folder_name="test-16x-onnx")
    export_graphs(load_model_folder(folder).for_inference(), folder)
    return folder


def test_each_graph_computes_what_torch_computes(exported: Path) -> None:
    reference = TorchNetworks(load_model_folder(exported).for_inference(), torch.device("cpu"))
    graphs = OnnxNetworks.load(exported)
    lr = np.random.default_rng(0).integers(0, 256, (2, 9, 13, 3), dtype=np.uint8)  # any batch and size
    z_hat = reference.rescaled_latent(lr)
    assert z_hat.shape == (2, 4, 18, 26)
    np.testing.assert_allclose(graphs.rescaled_latent(lr), z_hat, atol=1e-4)
    patches, t = np.ascontiguousarray(z_hat[:, :, :16, 8:24]), np.array([3, 640])  # patch-sized, as decoding
    z0 = reference.denoise(patches, t)
    np.testing.assert_allclose(graphs.denoise(patches, t), z0, atol=1e-4)
    np.testing.assert_allclose(graphs.render(z0), reference.render(z0), atol=1e-4)


def test_bicubic_matrices_upsample_as_torch_interpolate_does() -> None:
    image = torch.rand(1, 3, 7, 11) * 2 - 1
    expected = F.interpolate(image, scale_factor=16, mode="bicubic", align_corners=False).numpy()
    upsampled = bicubic_matrix(7, 16) @ image.numpy() @ bicubic_matrix(11, 16).T
    np.testing.assert_allclose(upsampled, expected, atol=2e-6)


def test_graphs_refuse_weights_that_changed_since_export(exported: Path, tmp_path: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(exported.parent, root, symlinks=True)
    weights_file = root / exported.name / "diffusion_pytorch_model.safetensors"
    weights = load_file(weights_file)
    first = sorted(weights)[0]
    weights[first] = weights[first] + 0.5
    save_file(weights, weights_file)
    with pytest.raises(MissingWeightsError, match="exported from other weights"):
        OnnxNetworks.load(root / exported.name)


def test_a_damaged_graph_is_a_one_line_error(exported: Path, tmp_path: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(exported.parent, root, symlinks=True)
    graph = root / exported.name / "onnx" / "denoise.onnx"
    graph.write_bytes(graph.read_bytes()[: graph.stat().st_size // 2])
    with pytest.raises(MissingWeightsError, match="cannot load the ONNX graphs") as caught:
        OnnxNetworks.load(root / exported.name)
    assert "\n" not in str(caught.value)


def test_auto_runtime_decodes_on_onnx_only_where_it_can(exported: Path, model_root: Path) -> None:
    assert isinstance(load_decoder(str(exported), "cpu", "auto", allow_path=True).networks, OnnxNetworks)
    without_graphs = str(model_root / "test-16x")
    assert isinstance(load_decoder(without_graphs, "cpu", "auto", allow_path=True).networks, TorchNetworks)
    with pytest.raises(TadmError, match="ships no ONNX graphs"):
        load_decoder(without_graphs, "cpu", "onnx", allow_path=True)
    with pytest.raises(TadmError, match="CPU only"):
        load_decoder(str(exported), "cuda", "onnx", allow_path=True)
    with pytest.raises(TadmError, match="use auto, onnx, torch"):
        load_decoder(str(exported), "cpu", "fast", allow_path=True)


def test_synthesised_detail_is_decoded_in_torch() -> None:
    """default-32x-r6 can synthesise detail (its backbone's detail head): asked for, auto takes torch."""
    assert isinstance(load_decoder("default-32x-r6", "cpu", "auto", detail=0.0).networks, OnnxNetworks)
    assert isinstance(load_decoder("default-32x-r6", "cpu", "auto", detail=0.5).networks, TorchNetworks)
    with pytest.raises(TadmError, match="detail"):
        load_decoder("default-32x-r6", "cpu", "onnx", detail=0.5)


def test_a_decode_on_the_onnx_runtime_does_not_import_torch() -> None:
    script = (
        "import sys, tadmcodec; "
        f"pixels = tadmcodec.decode({str(REFERENCE / 'default-16x-r6.tadm')!r}, runtime='onnx', as_array=True); "
        "assert pixels.mean() > 0; "
        "print(sorted(m for m in ('torch', 'diffusers', 'scipy') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_without_torch_decoding_works_and_torch_work_is_refused_in_one_line(tmp_path: Path) -> None:
    """As in an install without the torch extra (torch unimportable): the CPU decode (API, region, Pillow,
    .tif), info, verify and thumbnails work; encoding, the torch runtime and training are refused before
    any work, naming the extra."""
    reference = REFERENCE / "default-16x-r10.tadm"
    sample = Path(tadmcodec.__file__).parent / "samples" / "chelsea.png"
    script = f"""
import sys
sys.modules["torch"] = None  # importing it fails, as where it is not installed
import numpy as np, tadmcodec
from tadmcodec.cli import main
from tadmcodec.errors import MissingExtraError
pixels = tadmcodec.decode({str(reference)!r}, as_array=True)
np.save({str(tmp_path / "pixels.npy")!r}, pixels)
from PIL import Image
assert np.array_equal(np.asarray(Image.open({str(reference)!r}).convert("RGB")), pixels)
with tadmcodec.open({str(reference)!r}) as opened:
    assert np.array_equal(np.asarray(opened.decode((0, 0, 64, 48)).convert("RGB")), pixels[:48, :64])
reads = [
    main(["info", {str(reference)!r}]),
    main(["verify", {str(reference)!r}]),
    main(["thumbnail", {str(reference)!r}, {str(tmp_path / "thumb.png")!r}, "--size", "8"]),
    main(["decode", {str(reference)!r}, {str(tmp_path / "pyramid.tif")!r}, "--quiet"]),
]
print("reads:", reads)
try:
    tadmcodec.encode(np.zeros((32, 32, 3), np.uint8), {str(tmp_path / "x.tadm")!r})
except MissingExtraError as err:
    print("encode:", err)
codes = [
    main(["encode", {str(sample)!r}, {str(tmp_path / "y.tadm")!r}]),
    main(["decode", {str(reference)!r}, {str(tmp_path / "z.png")!r}, "--runtime", "torch"]),
    main(["train", "no-such-config.json"]),
]
print("codes:", codes)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    with_torch = tadmcodec.decode(reference, runtime="onnx", as_array=True)  # here, where torch is installed
    assert np.array_equal(np.load(tmp_path / "pixels.npy"), with_torch)
    assert "encode: encoding needs torch, which is not installed: pip install 'tadmcodec[torch]'" in result.stdout
    assert "codes: [2, 2, 2]" in result.stdout and "reads: [0, 0, 0, 0]" in result.stdout
    assert (tmp_path / "thumb.png").is_file() and (tmp_path / "pyramid.tif").is_file()
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 3 and all("pip install 'tadmcodec[torch]'" in line for line in errors), errors
    assert not any((tmp_path / name).exists() for name in ("x.tadm", "y.tadm", "z.png"))

"""Export a model's decode-side networks as the ONNX graphs the onnx runtime runs (layout:
tadmcodec.runtime.onnx_networks), at release: `python -m tadmcodec.runtime.graph_export MODEL...`.

Each graph is traced from the loaded inference model (LoRA merged) with dynamic batch and spatial sizes,
no constant folding, and its weights marked external under the names TADM.state_dict() gives them, so
the runtime feeds them from the model's own safetensors files (onnx_networks.inference_weights: checked
here to equal what torch holds). Two things are traced in another form than torch runs them, both the
same functions: the inverse of each invertible 1x1 mixing, a 3 x 3 matrix torch inverts on every call
(LU and matrix inversion are not ONNX operators), is stored as a constant; the bicubic upsampling is two
matrix products (ONNX Runtime's cubic Resize ran 10 times slower than torch's kernel here).
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..models.algorithm import TADM
from ..models.invertible import InvertibleConv1x1
from ..store.registry import resolve_model
from .codec import Codec
from .onnx_networks import GRAPHS_FOLDER, MANIFEST, WEIGHTS_LOCATION, inference_weights

OPSET = 17
MAX_INLINE_VALUES = 4096  # constants a graph may carry itself (derived, not weights): the 3 x 3 inverses


class _FixedInverse(nn.Module):
    """An invertible 1x1 mixing with its inverse matrix computed once, as torch computes it per call."""

    def __init__(self, layer: InvertibleConv1x1) -> None:
        super().__init__()
        self.register_buffer("inverse_matrix", torch.linalg.inv(layer.weight().double()).float()[:, :, None, None])

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return F.conv2d(y, self.inverse_matrix)


class _Method(nn.Module):
    """One TADM method as a module (the model a submodule, so its weights export under their names)."""

    def __init__(self, model: TADM, method: str) -> None:
        super().__init__()
        self.model, self.method = model, method

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return getattr(self.model, self.method)(*inputs)


class _RescaledLatent(_Method):
    """rescaled_latent with the bicubic upsampling as matrix products given as inputs."""

    def __init__(self, model: TADM) -> None:
        super().__init__(model, "rescaled_latent")

    def forward(self, y: torch.Tensor, rows: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
        return self.model.rescaled_latent(y, upsample=lambda image: rows @ image @ columns.T)


def export_graphs(model: TADM, folder: Path) -> dict[str, list[str]]:
    """Write folder/onnx/ (the graphs and graphs.json) for a loaded inference model whose files are in
    folder; returns the weight names each graph takes."""
    if model.backbone.conditional:
        raise ValueError("graphs are exported for tiny backbones only (SD 2.1 decodes in torch)")
    traced = copy.deepcopy(model).cpu().float()
    traced.mixed_precision = False
    layers = traced.tadm.dfrm.mapping.layers
    for index, layer in enumerate(layers):
        if isinstance(layer, InvertibleConv1x1):
            layers[index] = _FixedInverse(layer)
    weights = inference_weights(folder)
    channels, lr = model.config.latent_channels, 16
    latent = torch.zeros(2, channels, 32, 32)
    examples = {
        "rescaled_latent": (
            _RescaledLatent(traced),
            {
                "y": torch.zeros(2, 3, lr, lr),
                "rows": torch.zeros(lr * model.scale, lr),
                "columns": torch.zeros(lr * model.scale, lr),
            },
        ),
        "denoise": (_Method(traced, "denoise"), {"z_hat": latent, "t": torch.tensor([10, 90])}),
        "render": (_Method(traced, "render"), {"latents": latent}),
    }
    if model.texture_prior is not None:
        inputs = {"pixels": torch.zeros(2, 3, 64, 64)}
        if model.texture_prior.texture_input:
            inputs["texture"] = torch.zeros(2, 1, 8, 8)
        examples["texture_prior"] = (_Method(traced, "refine"), inputs)
    spatial = {0: "batch", 2: "height", 3: "width"}
    axes = {
        "y": spatial,
        "rows": {0: "up_height", 1: "height"},
        "columns": {0: "up_width", 1: "width"},
        "z_hat": spatial,
        "t": {0: "batch"},
        "latents": spatial,
        "pixels": spatial,
        "texture": {0: "batch", 2: "latent_height", 3: "latent_width"},
        "out": spatial,
    }
    target = folder / GRAPHS_FOLDER
    target.mkdir(exist_ok=True)
    taken: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as scratch, torch.no_grad():
        for name, (module, inputs) in examples.items():
            path = Path(scratch) / f"{name}.onnx"
            dynamic = {key: axes[key] for key in [*inputs, "out"]}
            torch.onnx.export(
                module.eval(),
                tuple(inputs.values()),
                path,
                dynamo=False,
                opset_version=OPSET,
                input_names=list(inputs),
                output_names=["out"],
                dynamic_axes=dynamic,
                do_constant_folding=False,
            )
            taken[name] = _externalize(path, target / f"{name}.onnx", weights)
    manifest = {"digest": model.digest.hex(), "opset": OPSET, "weights": taken}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return taken


def _externalize(source: Path, target: Path, weights: dict[str, np.ndarray]) -> list[str]:
    """Save the graph with every weight marked external under its state-dict name (checked against the
    files' weights); small derived constants stay inline. Returns the external names."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(source)
    external = []
    for tensor in graph.graph.initializer:
        key = tensor.name.removeprefix("model.")
        value = numpy_helper.to_array(tensor)
        if key not in weights:
            if value.size > MAX_INLINE_VALUES:
                raise ValueError(f"graph constant {tensor.name} ({value.size} values) is no weight of the model")
            continue
        if weights[key].shape != value.shape or not np.allclose(weights[key], value, rtol=1e-5, atol=1e-6):
            raise ValueError(f"weight {key}: the files' value differs from the loaded model's")
        tensor.name = key
        tensor.ClearField("raw_data")
        del tensor.float_data[:], tensor.int64_data[:]
        tensor.data_location = onnx.TensorProto.EXTERNAL
        del tensor.external_data[:]
        entry = tensor.external_data.add()
        entry.key, entry.value = "location", WEIGHTS_LOCATION
        external.append(key)
    renamed = {f"model.{key}": key for key in external}
    for node in graph.graph.node:
        node.input[:] = [renamed.get(name, name) for name in node.input]
    onnx.save_model(graph, target)
    return sorted(external)


def main() -> None:
    parser = argparse.ArgumentParser(description="Export the ONNX graphs of installed models (at release).")
    parser.add_argument("models", nargs="+", help="model names or folders")
    args = parser.parse_args()
    for name in args.models:
        folder = resolve_model(name, allow_path=True)
        taken = export_graphs(Codec.load(name, "cpu", allow_path=True).model, folder)
        print(f"{folder / GRAPHS_FOLDER}: {', '.join(f'{g} {len(w)} weights' for g, w in taken.items())}")


if __name__ == "__main__":
    main()

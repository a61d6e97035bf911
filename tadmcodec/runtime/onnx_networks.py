"""The decode-side networks of a model in ONNX Runtime on the CPU, without torch (the pipeline's
DecodingNetworks; chosen by tadmcodec.runtime.decoders).

A model folder that supports it holds graphs exported at release (tadmcodec.runtime.graph_export):

    MODEL/onnx/rescaled_latent.onnx   LR crops (B, 3, h, w) in [0, 1] and the bicubic upsampling as two
                                      matrices -> z_hat (G_d after F^-1, plus the VAE latent of the
                                      upsampled LR)
    MODEL/onnx/denoise.onnx           z_hat, t (B,) int64 -> z0 (one U-Net step, the hybrid scheduler)
    MODEL/onnx/render.onnx            latents -> pixels in [-1, 1] (the VAE decoder; no detail synthesis)
    MODEL/onnx/texture_prior.onnx     rendered pixels -> refined pixels (models with a texture prior only)
    MODEL/onnx/graphs.json            the digest of the weights they were exported from and the weights
                                      each graph takes

The graphs carry no weights of their own (a few kilobytes of structure and derived constants): the
weights are the model's safetensors files, read here with NumPy (LoRA merged as torch merges it), so
the digest that a file names still covers everything that decodes it. ONNX Runtime rounds differently
from torch: its pixels stay within the archival tolerance of torch's, not bit-equal.
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ..errors import MissingWeightsError
from ..store.folder import PRIOR_ADAPTER, TEXTURE_PRIOR, backbone_folder, has_texture_prior, model_digest, read_config
from ..store.hashing import linked_file
from ..store.low_rank import DOWN, UP, apply_adapter, low_rank_product

GRAPHS_FOLDER = "onnx"
MANIFEST = "graphs.json"
GRAPHS = ("rescaled_latent", "denoise", "render")
PRIOR_GRAPH = "texture_prior"
WEIGHTS_LOCATION = "model-weights"  # the external-data name the graphs give the weights they take
BICUBIC_A = -0.75  # torch's bicubic kernel constant


def gpu_present() -> bool:
    """Whether an NVIDIA GPU is visible (without importing torch): then decoding belongs on it."""
    gpus = Path("/proc/driver/nvidia/gpus")
    return gpus.is_dir() and any(gpus.iterdir())


def unusable_reason(folder: Path, detail: float | None) -> str | None:
    """Why these networks cannot decode with a model folder at a detail setting (None: they can)."""
    if importlib.util.find_spec("onnxruntime") is None:
        return "onnxruntime is not installed (pip install onnxruntime)"
    if not (folder / GRAPHS_FOLDER / MANIFEST).is_file():
        return "the model ships no ONNX graphs"
    config = read_config(folder)
    wanted = config.detail_strength if detail is None else detail
    if wanted > 0 and _synthesises_detail(folder, config):
        return "synthesised detail (--detail) is decoded in torch only"
    return None


class OnnxNetworks:
    """DecodingNetworks of a model folder in ONNX Runtime sessions on the CPU."""

    def __init__(self, folder: Path, sessions: dict[str, object], digest: bytes) -> None:
        self.folder, self.name, self.digest = folder, folder.name, digest
        self.config = read_config(folder)
        self._sessions = sessions

    @classmethod
    def load(cls, folder: Path, threads: int | None = None) -> OnnxNetworks:
        """The sessions of a model folder's graphs with its own weights; refuses graphs exported from
        other weights than the folder's."""
        import onnxruntime
        from onnxruntime.capi import onnxruntime_pybind11_state as state

        runtime_errors = tuple(v for v in vars(state).values() if isinstance(v, type) and issubclass(v, Exception))
        digest = model_digest(folder)
        try:
            manifest = json.loads((folder / GRAPHS_FOLDER / MANIFEST).read_text(encoding="utf-8"))
            if digest.hex() != manifest["digest"]:
                raise MissingWeightsError(f"{folder / GRAPHS_FOLDER} was exported from other weights than {folder}'s")
            weights = inference_weights(folder)
            sessions = {}
            for graph in graphs_of(folder):
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads, options.inter_op_num_threads = threads or 0, 1
                names = manifest["weights"][graph]
                values = [onnxruntime.OrtValue.ortvalue_from_numpy(weights[name]) for name in names]
                options.add_external_initializers(names, values)
                sessions[graph] = onnxruntime.InferenceSession(
                    str(linked_file(folder / GRAPHS_FOLDER / f"{graph}.onnx")),
                    options,
                    providers=["CPUExecutionProvider"],
                )
        except (OSError, ValueError, KeyError, *runtime_errors) as err:
            raise MissingWeightsError(f"cannot load the ONNX graphs of {folder}: {err}".splitlines()[0]) from None
        return cls(folder, sessions, digest)

    @property
    def scale(self) -> int:
        return int(self.config.scale)

    @property
    def synthesises_detail(self) -> bool:
        return False  # refused at loading (unusable_reason): decoding asks for no detail here

    @property
    def has_texture_prior(self) -> bool:
        return PRIOR_GRAPH in self._sessions

    @property
    def reads_texture(self) -> bool:
        return self.has_texture_prior and len(self._sessions[PRIOR_GRAPH].get_inputs()) == 2

    def rescaled_latent(self, lr: np.ndarray) -> np.ndarray:
        y = lr.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0)
        rows, columns = bicubic_matrix(y.shape[2], self.scale), bicubic_matrix(y.shape[3], self.scale)
        return self._run("rescaled_latent", y=y, rows=rows, columns=columns)

    def denoise(self, z_hat: np.ndarray, t: np.ndarray) -> np.ndarray:
        return self._run("denoise", z_hat=z_hat, t=t.astype(np.int64))

    def render(
        self, latents: np.ndarray, detail: np.ndarray | None = None, origins: list[tuple[int, int]] | None = None
    ) -> np.ndarray:
        if detail is not None:
            raise ValueError("the onnx runtime renders without synthesised detail")
        return self._run("render", latents=latents)

    def refine(self, pixels: np.ndarray, texture: np.ndarray | None = None) -> np.ndarray:
        return self._run(PRIOR_GRAPH, pixels=pixels, **({} if texture is None else {"texture": texture}))

    def _run(self, graph: str, **inputs: np.ndarray) -> np.ndarray:
        return self._sessions[graph].run(None, inputs)[0]


def graphs_of(folder: Path) -> tuple[str, ...]:
    """The graphs a model folder's decode runs: the three of every model, and its texture prior's."""
    return (*GRAPHS, PRIOR_GRAPH) if has_texture_prior(folder) else GRAPHS


@cache
def bicubic_matrix(size: int, scale: int) -> np.ndarray:
    """(size * scale, size) float32: bicubic upsampling by an integer scale along one axis as a matrix,
    as torch's F.interpolate(mode="bicubic", align_corners=False) computes it (kernel constant -0.75,
    source positions clamped to the edge)."""
    position = (np.arange(size * scale) + 0.5) / scale - 0.5
    start = np.floor(position)
    t = position - start
    weights = np.stack([_cubic(t + 1), _cubic(t), _cubic(1 - t), _cubic(2 - t)], axis=1)
    matrix = np.zeros((size * scale, size))
    for offset in range(4):
        columns = np.clip(start.astype(np.int64) - 1 + offset, 0, size - 1)
        np.add.at(matrix, (np.arange(size * scale), columns), weights[:, offset])
    return matrix.astype(np.float32)


def _cubic(distance: np.ndarray) -> np.ndarray:
    """The cubic convolution kernel at distances in [0, 2)."""
    a, x = BICUBIC_A, np.abs(distance)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x <= 1, near, far)


def inference_weights(folder: Path) -> dict[str, np.ndarray]:
    """The weights a loaded model holds for inference, keyed as TADM.state_dict() names them, read with
    NumPy: the model's modules (tadm.), the backbone's VAE and U-Net, the texture prior if any, the
    U-Net's LoRA merged into its base weights (W + B A, as tadmcodec.models.lora.merge_lora does)."""
    from safetensors.numpy import load_file

    backbone = backbone_folder(folder)[0]
    weights = {}
    for prefix, path in [
        ("tadm.", folder / "diffusion_pytorch_model.safetensors"),
        ("backbone.vae.", backbone / "vae" / "diffusion_pytorch_model.safetensors"),
        ("backbone.unet.", backbone / "unet" / "diffusion_pytorch_model.safetensors"),
    ]:
        weights |= {prefix + key: value.astype(np.float32) for key, value in load_file(linked_file(path)).items()}
    if has_texture_prior(folder):
        prior = load_file(linked_file(folder / TEXTURE_PRIOR / "diffusion_pytorch_model.safetensors"))
        adapter = linked_file(folder / TEXTURE_PRIOR / PRIOR_ADAPTER)
        if adapter.is_file():
            prior = apply_adapter(prior, load_file(adapter))
        weights |= {f"texture_prior.{key}": value.astype(np.float32) for key, value in prior.items()}
    lora = load_file(linked_file(folder / "lora.safetensors"))
    for key in [k for k in lora if k.endswith(DOWN)]:
        base = "backbone.unet." + key[: -len(DOWN)] + ".weight"
        weights[base] = weights[base] + low_rank_product(lora[key], lora[key[: -len(DOWN)] + UP])
    return weights


def _synthesises_detail(folder: Path, config: SimpleNamespace) -> bool:
    """A detail head in the backbone's VAE, timesteps from texture and no texture prior (which the detail
    dial then drives instead): what TADM.synthesises_detail says."""
    if has_texture_prior(folder):
        return False
    vae = json.loads((backbone_folder(folder)[0] / "vae" / "config.json").read_text(encoding="utf-8"))
    return bool(vae.get("detail_head", 0)) and config.texture_timesteps is not None

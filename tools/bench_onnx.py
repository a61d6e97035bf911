"""Would ONNX Runtime pay as a CPU runtime for decoding (issue 15)? Times the two decode stages that hold
most of the work, one U-Net step and one VAE decode of a batch of latent patches, in torch (as the codec
runs them: LoRA merged, channels-last VAE input) and in ONNX Runtime (the same modules exported), with
the same thread count, alternating; and the import time of each runtime in a fresh process.

    pip install onnxruntime onnxscript   # not dependencies of tadmcodec: only this measurement needs them
    python -m tools.bench_onnx [--model default-16x] [--threads 1] [--repeat 7] [--out FILE.json]

Prints (and writes) a JSON object: seconds per batch (best of --repeat), ORT speed-up, the largest
difference of the outputs, and the import seconds.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tadmcodec.codec import Codec
from tools.reports import emit


def best_seconds(run: Callable[[], object], repeat: int) -> float:
    run()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def import_seconds(module: str, repeat: int = 3) -> float:
    """Median wall time of a fresh interpreter importing the module."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


class _Call(nn.Module):
    """One backbone method as a module (the backbone a submodule, so its weights export), for export."""

    def __init__(self, backbone: nn.Module, method: str) -> None:
        super().__init__()
        self.backbone, self.method = backbone, method

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return getattr(self.backbone, self.method)(*inputs)


def main() -> None:
    import onnxruntime

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default-16x")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    backbone = Codec.load(args.model).model.backbone
    torch.manual_seed(0)
    z = torch.randn(args.batch, backbone.latent_channels, 32, 32)
    t = torch.full((args.batch,), 60)
    z_last = z.contiguous(memory_format=torch.channels_last)
    stages = {"unet step": ("predict_noise", (z, t)), "vae decode": ("decode", (z_last,))}
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = args.threads, 1
    report: dict[str, object] = {"model": args.model, "threads": args.threads, "batch": args.batch}
    with tempfile.TemporaryDirectory() as folder, torch.no_grad():
        for name, (method_name, inputs) in stages.items():
            module, method = _Call(backbone, method_name), getattr(backbone, method_name)
            path = Path(folder) / f"{name.replace(' ', '-')}.onnx"
            torch.onnx.export(module, inputs, path, dynamo=False, opset_version=17)
            session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
            feed = {i.name: v.numpy() for i, v in zip(session.get_inputs(), inputs, strict=True)}
            expected = method(*inputs).numpy()
            difference = float(np.abs(session.run(None, feed)[0] - expected).max())
            torch_s = best_seconds(lambda m=method, i=inputs: m(*i), args.repeat)
            ort_s = best_seconds(lambda s=session, f=feed: s.run(None, f), args.repeat)
            report[name] = {"torch_s": round(torch_s, 4), "onnxruntime_s": round(ort_s, 4),
                            "speedup": round(torch_s / ort_s, 3), "max_abs_difference": difference}  # fmt: skip
    report["import_s"] = {"torch": round(import_seconds("torch"), 3),
                          "onnxruntime": round(import_seconds("onnxruntime"), 3)}  # fmt: skip
    emit(report, args.out)


if __name__ == "__main__":
    main()

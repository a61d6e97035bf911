"""Where encoding and decoding spend their time and arithmetic (issue 15): seconds and GFLOP per model
stage for one image, in process, model loaded and warmed up.

    python -m tools.bench.profile [--model default-16x] [--size 1024] [--threads 2] [--out FILE.json]

Stages are the TADM methods' parts (backbone VAE encode / decode, U-Net, DFRM G_e / G_d and the
invertible mapping both ways, TPM, hybrid scheduler); "other" is the pipeline around them (tiling,
blending, quantizing). GFLOP count convolutions and matrix products (torch's FlopCounterMode), from a
second pass, so the timings carry no counting overhead. For a model with ONNX graphs the decode is
also timed on the onnx runtime, per network call (rescaled_latent: VAE encoder, G_d, F inverse;
denoise: U-Net and scheduler; render: VAE decoder), beside torch's time for the same calls. Prints (and
writes) a JSON object.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from torch.utils.flop_counter import FlopCounterMode

from tadmcodec.evaluation.speed import synthetic
from tadmcodec.io.raster import ArrayRaster
from tadmcodec.runtime.codec import Codec
from tadmcodec.runtime.cpu_threads import set_cpu_threads
from tadmcodec.runtime.decoders import load_decoder
from tadmcodec.runtime.onnx_networks import unusable_reason
from tadmcodec.store.registry import resolve_model
from tools.bench.report import emit


class StageMeter:
    """Wraps methods ({label: (owner, method name)}) to add their seconds, and while `mode` is set their
    FLOPs."""

    def __init__(self, stages: dict[str, tuple[object, str]]) -> None:
        self.stages = stages
        self.seconds: Counter = Counter()
        self.flops: Counter = Counter()
        self.mode: FlopCounterMode | None = None

    def _metered(self, label: str, method: Callable[..., object]) -> Callable[..., object]:
        def call(*args: object, **kwargs: object) -> object:
            before = self.mode.get_total_flops() if self.mode else 0
            start = time.perf_counter()
            result = method(*args, **kwargs)
            if self.mode:
                self.flops[label] += self.mode.get_total_flops() - before
            else:
                self.seconds[label] += time.perf_counter() - start
            return result

        return call

    @classmethod
    def of_model(cls, codec: Codec) -> StageMeter:
        """The TADM stages of a loaded torch model."""
        model = codec.model
        return cls(
            {
                "vae encode": (model.backbone, "encode"),
                "vae decode": (model.backbone, "decode"),
                "unet": (model.backbone, "predict_noise"),
                "G_e": (model.tadm.dfrm.encoder, "forward"),
                "G_d": (model.tadm.dfrm.decoder, "forward"),
                "F": (model.tadm.dfrm.mapping, "forward"),
                "F inverse": (model.tadm.dfrm.mapping, "inverse"),
                "tpm": (model.tadm.tpm, "forward"),
                "scheduler": (model.tadm.scheduler, "forward"),
            }
        )

    @contextmanager
    def installed(self) -> Iterator[StageMeter]:
        for label, (owner, name) in self.stages.items():
            setattr(owner, name, self._metered(label, getattr(owner, name)))
        try:
            yield self
        finally:
            for owner, name in self.stages.values():
                delattr(owner, name)  # the instance attribute goes; the class's method shows again


def profile(codec: Codec, size: int) -> dict[str, dict[str, dict[str, float]]]:
    """{encode, decode: {stage: {seconds, gflop}}} for a size x size synthetic image, busiest first."""
    image = synthetic(size)
    codec.encode(image[:64, :64])  # warm-up
    lr, grid = codec.encode(image)
    runs = {
        "encode": lambda: codec.encode(image),
        "decode": lambda: codec.decoder.decode(ArrayRaster(lr), grid, (size, size)),
    }
    report = {}
    for what, run in runs.items():
        with StageMeter.of_model(codec).installed() as meter:
            start = time.perf_counter()
            run()
            total = time.perf_counter() - start
            with FlopCounterMode(display=False) as meter.mode:
                run()
        meter.seconds["other"] = total - sum(meter.seconds.values())
        rows = {
            label: {"seconds": round(seconds, 3), "gflop": round(meter.flops[label] / 1e9, 2)}
            for label, seconds in meter.seconds.most_common()
        }
        report[what] = rows | {"total": {"seconds": round(total, 3), "gflop": round(meter.flops.total() / 1e9, 2)}}
    return report


CALLS = {
    "rescaled_latent": ("vae encode", "G_d", "F inverse"),
    "denoise": ("unet", "scheduler"),
    "render": ("vae decode",),
}  # the network calls decoding makes, and the torch stages inside each


def onnx_decode(name: str, size: int, torch_decode: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Seconds per network call of a decode on the onnx runtime, with torch's for the same calls."""
    decoder = load_decoder(name, "cpu", "onnx", allow_path=True)
    codec, image = Codec.load(name, allow_path=True), synthetic(size)
    warm_lr, warm_grid = codec.encode(image[:256, :256])
    decoder.decode(ArrayRaster(warm_lr), warm_grid, (256, 256))  # sessions warmed up before timing
    lr, grid = codec.encode(image)
    networks = decoder.networks
    with StageMeter({call: (networks, call) for call in CALLS}).installed() as meter:
        start = time.perf_counter()
        decoder.decode(ArrayRaster(lr), grid, (size, size))
        total = time.perf_counter() - start
    seconds = meter.seconds
    seconds["other"] = total - sum(seconds.values())
    rows = {
        call: {
            "onnx_seconds": round(s, 3),
            "torch_seconds": round(
                sum(torch_decode.get(stage, {}).get("seconds", 0.0) for stage in CALLS.get(call, ("other",))), 3
            ),
        }
        for call, s in seconds.items()
    }
    return rows | {"total": {"onnx_seconds": round(total, 3), "torch_seconds": torch_decode["total"]["seconds"]}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default-16x", help="a registered name or a model folder")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    set_cpu_threads(args.threads)
    report = {
        "model": args.model,
        "size": args.size,
        "threads": args.threads,
        **profile(Codec.load(args.model, allow_path=True), args.size),
    }
    if unusable_reason(resolve_model(args.model, allow_path=True), 0.0) is None:
        report["decode by runtime"] = onnx_decode(args.model, args.size, report["decode"])
    emit(report, args.out)


if __name__ == "__main__":
    main()

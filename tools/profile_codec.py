"""Where encoding and decoding spend their time and arithmetic (issue 15): seconds and GFLOP per model
stage for one image, in process, model loaded and warmed up.

    python -m tools.profile_codec [--model default-16x] [--size 1024] [--threads 2] [--out FILE.json]

Stages are the TADM methods' parts (backbone VAE encode / decode, U-Net, DFRM G_e / G_d and the
invertible mapping both ways, TPM, hybrid scheduler); "other" is the pipeline around them (tiling,
blending, quantizing). GFLOP count convolutions and matrix products (torch's FlopCounterMode), from a
second pass, so the timings carry no counting overhead. Prints (and writes) a JSON object.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from tadmcodec.codec import Codec
from tadmcodec.evaluation.speed import synthetic
from tadmcodec.raster import ArrayRaster
from tools.reports import emit


class StageMeter:
    """Wraps each stage's method of a loaded model to add its seconds, and while `mode` is set its FLOPs."""

    def __init__(self, codec: Codec) -> None:
        model = codec.model
        self.stages = {"vae encode": (model.backbone, "encode"), "vae decode": (model.backbone, "decode"),
                       "unet": (model.backbone, "predict_noise"), "G_e": (model.tadm.dfrm.encoder, "forward"),
                       "G_d": (model.tadm.dfrm.decoder, "forward"), "F": (model.tadm.dfrm.mapping, "forward"),
                       "F inverse": (model.tadm.dfrm.mapping, "inverse"), "tpm": (model.tadm.tpm, "forward"),
                       "scheduler": (model.tadm.scheduler, "forward")}  # fmt: skip
        self.seconds: Counter = Counter()
        self.flops: Counter = Counter()
        self.mode: FlopCounterMode | None = None

    def _metered(self, label: str, method: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        def call(*args: object, **kwargs: object) -> torch.Tensor:
            before = self.mode.get_total_flops() if self.mode else 0
            start = time.perf_counter()
            result = method(*args, **kwargs)
            if self.mode:
                self.flops[label] += self.mode.get_total_flops() - before
            else:
                self.seconds[label] += time.perf_counter() - start
            return result

        return call

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
    runs = {"encode": lambda: codec.encode(image),
            "decode": lambda: codec.decode(ArrayRaster(lr), grid, (size, size))}  # fmt: skip
    report = {}
    for what, run in runs.items():
        with StageMeter(codec).installed() as meter:
            start = time.perf_counter()
            run()
            total = time.perf_counter() - start
            with FlopCounterMode(display=False) as meter.mode:
                run()
        meter.seconds["other"] = total - sum(meter.seconds.values())
        rows = {label: {"seconds": round(seconds, 3), "gflop": round(meter.flops[label] / 1e9, 2)}
                for label, seconds in meter.seconds.most_common()}  # fmt: skip
        report[what] = rows | {"total": {"seconds": round(total, 3), "gflop": round(meter.flops.total() / 1e9, 2)}}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default-16x", help="a registered name or a model folder")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    report = {"model": args.model, "size": args.size, "threads": args.threads,
              **profile(Codec.load(args.model, allow_path=True), args.size)}  # fmt: skip
    emit(report, args.out)


if __name__ == "__main__":
    main()

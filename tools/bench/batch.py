"""Batch engines side by side (issue 16): the local engine and the Ray engine encoding the same images
in one run, on this machine, with the shipped default-16x model.

    python -m tools.bench.batch IMAGES_FOLDER [--count 50] [--out docs/results/batch-engines.json]

Measured, each into a fresh output folder: local with 2 threads (the default) and with 1; Ray with 2
workers x 1 thread and with 1 worker x 1 thread, on a cluster started beforehand (its start-up is
timed separately, as a user's cluster runs already). Per-file overhead of Ray: (Ray 1 worker - local
1 thread) / files. Prints and writes JSON: seconds, files/s, MP/s and the ratios.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from PIL import Image

from tadmcodec.batch import BatchOptions, RayOptions, run_batch
from tadmcodec.batch.paths import expand_inputs
from tadmcodec.io.image_input import IMAGE_SUFFIXES
from tadmcodec.options import EncodeOptions
from tools.bench.report import emit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", type=Path)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    import ray

    inputs = expand_inputs([str(args.images)], IMAGE_SUFFIXES)[: args.count]
    megapixels = sum(Image.open(path).width * Image.open(path).height for path in inputs) / 1e6
    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    results: dict = {
        "files": len(inputs),
        "megapixels": round(megapixels, 3),
        "ray_start_seconds": round(time.perf_counter() - start, 2),
    }
    runs = {
        "local-2-threads": ({"threads": 2}, "local", None),
        "ray-2-workers": ({"threads": 1}, "ray", RayOptions(workers=2)),
        "local-1-thread": ({"threads": 1}, "local", None),
        "ray-1-worker": ({"threads": 1}, "ray", RayOptions(workers=1)),
    }
    with tempfile.TemporaryDirectory() as scratch:
        for name, (options, engine, ray_options) in runs.items():
            report = run_batch(
                inputs, Path(scratch) / name, BatchOptions(EncodeOptions(), **options), engine=engine, ray=ray_options
            )
            assert report.done == len(inputs), report.summary()
            results[name] = {
                "seconds": round(report.seconds, 2),
                "files_per_s": round(len(inputs) / report.seconds, 3),
                "mp_per_s": round(megapixels / report.seconds, 3),
            }
    ray.shutdown()
    results["ray_over_local_2_cores"] = round(
        results["ray-2-workers"]["seconds"] / results["local-2-threads"]["seconds"], 3
    )
    results["ray_over_local_1_core"] = round(
        results["ray-1-worker"]["seconds"] / results["local-1-thread"]["seconds"], 3
    )
    overhead = (results["ray-1-worker"]["seconds"] - results["local-1-thread"]["seconds"]) / len(inputs)
    results["ray_overhead_seconds_per_file"] = round(overhead, 3)
    emit(results, args.out)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Here, before a device call: the wheels the device lacks and the data packs (all git-ignored).
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-.venv/bin/python}
download() {
  "$python" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$@"
}
download .whl "zstandard==$("$python" -c 'import zstandard; print(zstandard.__version__)')"
download .whl-sd21 diffusers==0.42.1 importlib_metadata==10.2.0
"$python" -m tools.gpu.pack --train ../shared/data/train --val ../shared/data/val/bsd100 --out .gpu-pack \
  "$@"
du -sh .whl .whl-sd21 .gpu-pack

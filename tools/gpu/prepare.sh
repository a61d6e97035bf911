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
# What each device call carries: the working tree (tracked and untracked-not-ignored files) plus its carry
# folders, under the device tool's 64 MiB less 2 MiB (its own count is larger than this one: a call this
# count put 100 KB under was refused).
tree=$(git ls-files -co --exclude-standard -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
for carry in ".whl .whl-sd21" ".whl .gpu-pack"; do
  total=$tree
  for folder in $carry; do total=$((total + $(du -sb "$folder" | cut -f1))); done
  echo "a call carrying $carry sends $total bytes (limit 67108864, checked with a 2 MiB margin)"
  if [ "$total" -ge $((67108864 - 2097152)) ]; then
    echo "over the device tool's 64 MiB: python -m tools.gpu.slim --apply first, or a smaller pack (--train-mb N)" >&2
    exit 1
  fi
done

#!/usr/bin/env bash
# The standing GPU job, run on a lent device machine from the repository root (see README, "GPU"):
#   tools/gpu/run.sh check                 environment, GPU-vs-CPU agreement, throughput, SD 2.1 cost (< 2 min)
#   tools/gpu/run.sh train --minutes 8     continue the realism training; results.tar.gz under $OUT
# Wheels the device lacks travel in .whl/ (zstandard) and .whl-sd21/ (diffusers, for check), the
# training data in .gpu-pack/ (tools/gpu/prepare.sh makes all three here). The package is not
# installed there: its three import names are linked into a folder on PYTHONPATH. PYTHON names the
# interpreter (default python3); TADM_NO_WHEELS=1 skips the wheels (the CPU test, another Python).
set -euo pipefail
mode=${1:?usage: tools/gpu/run.sh check|train [options]}
shift
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-$root/gpu-out}
site=${TADM_SITE:-/tmp/tadmcodec-site}
python=${PYTHON:-python3}
mkdir -p "$out" "$site"
for wheels in "$root/.whl" "$root/.whl-sd21"; do
  if [ -z "${TADM_NO_WHEELS:-}" ] && compgen -G "$wheels/*.whl" >/dev/null; then
    "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" "$wheels"/*.whl
  fi
done
ln -sfn "$root/formats" "$site/tadmcodec_formats"
ln -sfn "$root/plugins" "$site/tadmcodec_plugins"
ln -sfn "$root/tadmcodec" "$site/tadmcodec"
export PYTHONPATH="$site:$root${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
cd "$root"
"$python" -m "tools.gpu.$mode" --out "$out" "$@" 2>&1 | tee "$out/$mode.log"

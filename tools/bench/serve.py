"""The IIIF server under load (issue 32): `tadmcodec serve` started as a user starts it, measured from
concurrent HTTP clients on the same machine.

    python -m tools.bench.serve IMAGE [--side 4096] [--workers 2] [--clients 8] [--out docs/results/serve.json]

IMAGE is enlarged (bicubic) to SIDE x 3/4 SIDE and encoded with the default 16x model, once, into a
temporary folder. Measured, in order, on a freshly started server:
  - first tile at full zoom: the first request after start-up (includes loading the model);
  - LR-served requests (every tile of the levels the LR covers, the sizes, thumbnails), CLIENTS at once;
  - model-served tiles: every tile of the full-zoom and half-zoom levels, CLIENTS at once (each decoded
    once; nothing is cached before) - p50 / p99 latency and tiles per second;
  - the same tiles again (from the region cache);
  - a burst of distinct regions, 4 x (workers + queue) at once: how many got 503, and the slowest answer;
  - the server's peak resident memory (VmHWM).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

import tadmcodec
from tadmcodec.serve.static_export import request_path, tile_requests
from tadmcodec.store.registry import default_models
from tools.bench.report import cpu, emit


def tile_urls(identifier: str, width: int, height: int, factor: int) -> list[str]:
    """The URLs a viewer asks for at one scale factor (tadmcodec.serve.static_export's pyramid)."""
    return [
        f"/iiif/3/{identifier}/{request_path(request, width, height)}"
        for request in tile_requests(width, height, factor)
    ]


async def fetch_all(base: str, urls: list[str], clients: int) -> tuple[list[float], list[int], float]:
    """Latencies (s) and statuses of every URL, fetched by `clients` concurrent clients; and the wall time."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    latencies, statuses = [], []

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=600) as http:
            while not queue.empty():
                url = queue.get_nowait()
                start = time.perf_counter()
                response = await http.get(url)
                latencies.append(time.perf_counter() - start)
                statuses.append(response.status_code)

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, statuses, time.perf_counter() - start


async def burst(base: str, urls: list[str]) -> tuple[list[int], float]:
    async with httpx.AsyncClient(base_url=base, timeout=600, limits=httpx.Limits(max_connections=len(urls))) as http:
        start = time.perf_counter()
        responses = await asyncio.gather(*(http.get(url) for url in urls))
        return [r.status_code for r in responses], time.perf_counter() - start


def summary(latencies: list[float], statuses: list[int], wall: float) -> dict[str, Any]:
    ms = np.array(latencies) * 1000
    return {
        "requests": len(latencies),
        "errors": sum(s != 200 for s in statuses),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "per_second": round(len(latencies) / wall, 2),
        "wall_s": round(wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", type=Path)
    parser.add_argument("--side", type=int, default=4096)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queue", type=int, default=16)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    width, height = args.side, args.side * 3 // 4
    with Image.open(args.image) as image:
        image.convert("RGB").resize((width, height), Image.Resampling.BICUBIC).save(folder / "big.png")
    tadmcodec.encode(folder / "big.png", folder / "big.tadm", scale=16)
    (folder / "big.png").unlink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "tadmcodec", "serve", str(folder), "--port", str(port)]
    command += ["--workers", str(args.workers), "--queue", str(args.queue)]
    server = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{base}/iiif/3/big/info.json", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        report: dict[str, Any] = {
            "cpu": cpu(),
            "cores": os.cpu_count(),
            "image": f"{width} x {height}, 16x, default model {default_models()[16]}",
            "workers": args.workers,
            "clients": args.clients,
        }
        start = time.perf_counter()
        first = httpx.get(f"{base}{tile_urls('big', width, height, 1)[0]}", timeout=600)
        report["first_full_zoom_tile_ms"] = round((time.perf_counter() - start) * 1000, 1)
        assert first.status_code == 200 and first.headers["x-served-from"] == "decode"
        info = httpx.get(f"{base}/iiif/3/big/info.json").json()
        factors = info["tiles"][0]["scaleFactors"]
        lr_urls = [u for f in factors if f >= 4 for u in tile_urls("big", width, height, f)]
        lr_urls += [f"/iiif/3/big/full/{s['width']},{s['height']}/0/default.jpg" for s in info["sizes"]]
        lr_urls += [f"/iiif/3/big/full/!{s},{s}/0/default.jpg" for s in (64, 128, 256)]
        report["lr_served"] = summary(*asyncio.run(fetch_all(base, lr_urls * 5, args.clients)))
        decoded = tile_urls("big", width, height, 1)[1:] + tile_urls("big", width, height, 2)
        report["model_served"] = summary(*asyncio.run(fetch_all(base, decoded, args.clients)))
        report["cached"] = summary(*asyncio.run(fetch_all(base, decoded, args.clients)))
        regions = [
            f"/iiif/3/big/{x},{y},256,256/256,/0/default.jpg"
            for y in range(0, height - 255, 256)
            for x in range(0, width - 255, 256)
        ]
        statuses, wall = asyncio.run(burst(base, regions[: 4 * (args.workers + args.queue)]))
        report["burst"] = {"requests": len(statuses), "ok": statuses.count(200), "503": statuses.count(503)}
        report["burst"] |= {
            "other": len(statuses) - statuses.count(200) - statuses.count(503),
            "wall_s": round(wall, 2),
        }
        status = Path(f"/proc/{server.pid}/status").read_text()
        report["server_peak_rss_mb"] = round(int(status.split("VmHWM:")[1].split()[0]) / 1024, 1)
    finally:
        server.terminate()
        server.wait(10)
    emit(report, args.out)


if __name__ == "__main__":
    main()

"""`check` mode of the standing GPU job: environment, GPU-vs-CPU agreement, throughput, SD 2.1 cost.

    tools/gpu/run.sh check            (on the device; writes check.json and check.log under $OUT)
    python -m tools.gpu.check --tiny --device cpu --out DIR     (the same code in seconds, on a CPU: CI)

1. Environment: GPU, driver, torch, free memory.
2. Agreement: the bundled sample encoded and decoded on the CPU and on the device, float32 and with
   bf16 autocast: identical timesteps or not, max |difference| and PSNR between the decodes.
3. Throughput: encode and decode MP/s of both default models on synthetic squares, per patch batch
   size, with peak device memory; steps past the time budget are skipped and listed.
4. A randomly initialised U-Net of Stable Diffusion 2.1-base's configuration (UNet2DConditionModel,
   AutoencoderKL of SD's configuration) decoding one square: what a real SD backbone costs per MP.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from tadmcodec.evaluation.speed import synthetic
from tadmcodec.io.raster import ArrayRaster
from tadmcodec.quality.metrics import psnr_images
from tadmcodec.runtime.codec import Codec
from tadmcodec.runtime.model_loader import load_model_folder
from tadmcodec.store.registry import DEFAULT_MODELS, resolve_model

SAMPLE = Path(__file__).resolve().parents[2] / "tadmcodec" / "samples" / "chelsea.png"
FULL = {"sizes": [4096, 8192], "batches": [8, 32, 128], "sd_size": 2048, "budget_s": 100.0}
TINY = {"sizes": [96], "batches": [2], "sd_size": 96, "budget_s": 60.0}
# Stable Diffusion 2.1-base: UNet2DConditionModel and AutoencoderKL configurations (random weights here).
SD21_UNET = {
    "sample_size": 64,
    "in_channels": 4,
    "out_channels": 4,
    "layers_per_block": 2,
    "block_out_channels": (320, 640, 1280, 1280),
    "attention_head_dim": (5, 10, 20, 20),
    "cross_attention_dim": 1024,
    "use_linear_projection": True,
    "down_block_types": ("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    "up_block_types": ("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
}
SD21_VAE = {
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "layers_per_block": 2,
    "block_out_channels": (128, 256, 512, 512),
    "scaling_factor": 0.18215,
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
}
SD21_TINY_UNET = SD21_UNET | {
    "block_out_channels": (32, 64, 64, 64),
    "attention_head_dim": 8,
    "cross_attention_dim": 32,
    "layers_per_block": 1,
}
SD21_TINY_VAE = SD21_VAE | {"block_out_channels": (16, 32, 32, 32), "layers_per_block": 1, "norm_num_groups": 8}


def environment(device: torch.device) -> dict[str, Any]:
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": str(device),
        "cpu_threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        report |= {
            "gpu": torch.cuda.get_device_name(device),
            "free_gib": free / 2**30,
            "total_gib": total / 2**30,
            "capability": ".".join(map(str, torch.cuda.get_device_capability(device))),
            "cuda": torch.version.cuda,
        }
        try:
            query = ["nvidia-smi", "--query-gpu=driver_version,clocks.sm,temperature.gpu", "--format=csv,noheader"]
            report["nvidia_smi"] = subprocess.run(query, capture_output=True, text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError) as err:
            report["nvidia_smi"] = f"unavailable: {err}"
    return report


def agreement(model: str, device: torch.device, image: np.ndarray) -> dict[str, Any]:
    """The same file decoded on the CPU and on the device (float32, then bf16 autocast)."""
    cpu = Codec.load(model, "cpu")
    lr, grid = cpu.encode(image)
    reference = cpu.decoder.decode(ArrayRaster(lr), grid, (image.shape[1], image.shape[0]))
    result: dict[str, Any] = {"model": model, "size": [image.shape[1], image.shape[0]]}
    for mixed in (False, True):
        codec = Codec(load_model_folder(resolve_model(model)).for_inference(), device)  # LoRA merged, as Codec.load
        codec.model.mixed_precision = mixed
        lr_device, grid_device = codec.encode(image)
        decoded = codec.decoder.decode(ArrayRaster(lr), grid, (image.shape[1], image.shape[0]))
        result["bf16" if mixed else "fp32"] = {
            "lr_identical": bool(np.array_equal(lr_device, lr)),
            "lr_max_abs_diff": int(np.abs(lr_device.astype(int) - lr.astype(int)).max()),
            "timesteps_identical": bool(np.array_equal(grid_device.timesteps, grid.timesteps)),
            "timesteps_max_abs_diff": int(np.abs(grid_device.timesteps.astype(int) - grid.timesteps.astype(int)).max()),
            "decode_max_abs_diff": int(np.abs(decoded.astype(int) - reference.astype(int)).max()),
            "decode_psnr_vs_cpu": psnr_images(reference, decoded),
        }
    return result


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def throughput(codec: Codec, size: int, device: torch.device) -> dict[str, Any]:
    image = synthetic(size)
    codec.encode(image[:256, :256])  # warm-up: kernels, allocator
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    _synchronize(device)
    start = time.perf_counter()
    lr, grid = codec.encode(image)
    _synchronize(device)
    encode_s = time.perf_counter() - start
    start = time.perf_counter()
    codec.decoder.decode(ArrayRaster(lr), grid, (size, size))
    _synchronize(device)
    decode_s = time.perf_counter() - start
    megapixels = size * size / 1e6
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    return {
        "size": size,
        "batch": codec.batch_size,
        "encode_mp_s": megapixels / encode_s,
        "decode_mp_s": megapixels / decode_s,
        "peak_gpu_gib": peak,
    }


def sd21_cost(device: torch.device, size: int, tiny: bool) -> dict[str, Any]:
    """Decode MP/s with a random SD 2.1-base-sized U-Net and SD's AutoencoderKL (diffusers)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel

    from tadmcodec.backbones import Backbone
    from tadmcodec.backbones.schedule import SD_SCHEDULE, alphas_cumprod
    from tadmcodec.models.algorithm import TADM
    from tadmcodec.models.lora import add_lora
    from tadmcodec.models.tadm import TADMModel

    torch.manual_seed(0)
    unet_config, vae_config = (SD21_TINY_UNET, SD21_TINY_VAE) if tiny else (SD21_UNET, SD21_VAE)
    unet, vae = UNet2DConditionModel(**unet_config), AutoencoderKL(**vae_config)
    context = torch.zeros(1, 77, unet_config["cross_attention_dim"])
    backbone = Backbone(vae, unet, alphas_cumprod(SD_SCHEDULE), context)
    tadm = TADMModel(scale=16, latent_channels=4, backbone="sd21")
    tadm.set_schedule(backbone.alphas_cumprod)
    add_lora(unet, tadm.config.lora_rank, tadm.config.lora_targets)
    model = TADM(tadm, backbone, "sd21-random").eval()
    parameters = sum(p.numel() for p in unet.parameters())
    codec = Codec(model, device, batch_size=8)
    image = synthetic(size)
    lr, grid = codec.encode(image)
    _synchronize(device)
    start = time.perf_counter()
    codec.decoder.decode(ArrayRaster(lr), grid, (size, size))
    _synchronize(device)
    seconds = time.perf_counter() - start
    return {
        "size": size,
        "unet_parameters_m": parameters / 1e6,
        "decode_s": seconds,
        "decode_mp_s": size * size / 1e6 / seconds,
    }


def run(device: torch.device, tiny: bool) -> dict[str, Any]:
    plan = TINY if tiny else FULL
    deadline = time.monotonic() + plan["budget_s"]
    report: dict[str, Any] = {"environment": environment(device), "skipped": []}
    sample = np.asarray(Image.open(SAMPLE).convert("RGB"))
    sample = sample[:128, :128] if tiny else sample
    report["agreement"] = [agreement(DEFAULT_MODELS[scale], device, sample) for scale in (16, 32)]
    report["throughput"] = []
    for scale in (16, 32):
        model = Codec.load(DEFAULT_MODELS[scale], device).model
        for size in plan["sizes"]:
            for batch in plan["batches"] if size == plan["sizes"][0] else plan["batches"][-1:]:
                step = f"{DEFAULT_MODELS[scale]} {size}px batch {batch}"
                if time.monotonic() > deadline:
                    report["skipped"].append(step)
                    continue
                report["throughput"].append(
                    {"model": DEFAULT_MODELS[scale]} | throughput(Codec(model, device, batch), size, device)
                )
    if time.monotonic() > deadline:
        report["skipped"].append("sd21")
    else:
        report["sd21"] = sd21_cost(device, plan["sd_size"], tiny)
    return report


def table(report: dict[str, Any]) -> str:
    lines = [json.dumps(report["environment"])]
    for item in report["agreement"]:
        for precision in ("fp32", "bf16"):
            r = item[precision]
            lines.append(
                f"{item['model']} {precision}: timesteps identical {r['timesteps_identical']}, LR identical "
                f"{r['lr_identical']}, decode max|diff| {r['decode_max_abs_diff']}, "
                f"PSNR vs CPU {r['decode_psnr_vs_cpu']:.2f} dB"
            )
    for row in report["throughput"]:
        lines.append(
            f"{row['model']} {row['size']}px batch {row['batch']}: encode {row['encode_mp_s']:.2f} MP/s, "
            f"decode {row['decode_mp_s']:.2f} MP/s, peak {row['peak_gpu_gib']} GiB"
        )
    if "sd21" in report:
        lines.append(f"SD 2.1-base U-Net (random): {json.dumps(report['sd21'])}")
    lines.append(f"skipped (time budget): {report['skipped']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="CPU-sized sizes and a shrunken SD config (tests)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    report = run(torch.device(args.device), args.tiny)
    (args.out / "check.json").write_text(json.dumps(report, indent=1))
    print(table(report))


if __name__ == "__main__":
    main()

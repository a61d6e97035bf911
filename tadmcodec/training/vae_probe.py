"""Short VAE training runs to choose the tiny backbone's latent channels and width (record in the model card).

    python -m tadmcodec.training.vae_probe --train ../shared/data/train --val ../shared/data/val/bsd100 \
        --channels 8 --widths 16 32 64 128 --minutes 6 --out runs/vae-probe-c8.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL

from ..nn.pixels import unit_range
from ..quality.metrics import psnr
from .data import CropSampler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", nargs="+", required=True)
    parser.add_argument("--val", nargs="+", required=True)
    parser.add_argument("--channels", type=int, required=True)
    parser.add_argument("--widths", type=int, nargs=4, default=[16, 32, 64, 128])
    parser.add_argument("--minutes", type=float, default=6)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    vae = AutoencoderKL(
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=tuple(args.widths),
        layers_per_block=1,
        latent_channels=args.channels,
        norm_num_groups=8,
        scaling_factor=1.0,
        mid_block_add_attention=False,
    )
    train = CropSampler(args.train, 96, seed=0, limit=600)
    val = CropSampler(args.val, 128, seed=1).batch(32)
    optimizer = torch.optim.AdamW(vae.parameters(), lr=2e-3 if args.channels else 1e-3)
    start, step = time.time(), 0
    while time.time() - start < args.minutes * 60:
        x = train.batch(8)
        posterior = vae.encode(x).latent_dist
        y = vae.decode(posterior.sample()).sample
        loss = F.l1_loss(y, x) + 1e-6 * posterior.kl().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
    vae.eval()
    with torch.no_grad():
        recon = torch.cat([vae.decode(vae.encode(v[None]).latent_dist.mean).sample for v in val])
    result = {
        "channels": args.channels,
        "widths": args.widths,
        "steps": step,
        "minutes": args.minutes,
        "val_psnr": round(psnr(unit_range(recon), unit_range(val)).mean().item(), 2),
        "params_m": round(sum(p.numel() for p in vae.parameters()) / 1e6, 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

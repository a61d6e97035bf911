"""Side-by-side pictures for the evaluation: original crop, LR thumbnail, bicubic, the best standard
codec at the same bytes, the previous release (when evaluated), tadmcodec, and the timestep map,
labelled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..pipeline.timestep_map import render_timestep_map

CROP = 256
LABEL_HEIGHT = 18


def _center_box(width: int, height: int, side: int) -> tuple[int, int, int, int]:
    x0, y0 = max(0, (width - side) // 2), max(0, (height - side) // 2)
    return x0, y0, min(width, x0 + side), min(height, y0 + side)


def codec_panel(methods: dict, outputs: dict) -> tuple[str, np.ndarray] | None:
    """The standard codec with the highest PSNR among those that fit the budget, or, when none fits,
    the one whose smallest file comes closest (labelled with how far over the budget it is)."""
    fitted = [(m["psnr"], name) for name, m in methods.items() if "quality" in m]
    if fitted:
        name = max(fitted)[1]
        m = methods[name]
        factor = f" 1/{m['factor']}" if m.get("factor", 1) > 1 else ""
        return f"{name}{factor} q{m['quality']} {m['bpp']:.3f} bpp {m['psnr']:.2f} dB", outputs[name]
    over = [(m["smallest_bytes"], name) for name, m in methods.items() if "smallest_bytes" in m and name in outputs]
    if not over:
        return None
    size, name = min(over)
    ratio = size / methods["tadmcodec"]["bytes"]
    return f"{name} lowest quality: {ratio:.2f}x the bytes", outputs[name]


def side_by_side(rgb: np.ndarray, result: dict, target: Path, crop: int = CROP) -> None:
    """Save the labelled panels of one image at one scale as a JPEG."""
    from tadmcodec_formats import TadmReader

    height, width = rgb.shape[:2]
    x0, y0, x1, y1 = _center_box(width, height, crop)
    scale, methods, outputs = result["scale"], result["methods"], result["outputs"]
    with TadmReader(result["tadm"]) as reader:
        lr = reader.read_lr()[..., :3]
        grid = reader.read_patches()
    lr_up = np.asarray(Image.fromarray(lr).resize((lr.shape[1] * scale, lr.shape[0] * scale), Image.NEAREST))
    # colours span 0 to the file's largest timestep rounded up to a hundred (labelled), so the few
    # hundred steps a model uses show as more than one colour
    high = 100 * max(1, -(-int(grid.timesteps.max()) // 100))
    steps = render_timestep_map(
        rgb, grid.timesteps, grid.patch_size, grid.overlap, (width, height), scale, value_range=(0.0, float(high))
    )
    codec = codec_panel(methods, outputs)
    panels = [
        ("original", rgb),
        (f"LR thumbnail ({scale}x)", lr_up[:height, :width]),
        (f"bicubic {methods['bicubic']['psnr']:.2f} dB", outputs["bicubic"]),
    ]
    panels.append(codec or ("no standard codec available", np.full_like(rgb, 128)))
    if "tadmcodec-previous" in outputs:
        panels.append(
            (f"previous release {methods['tadmcodec-previous']['psnr']:.2f} dB", outputs["tadmcodec-previous"])
        )
    t = methods["tadmcodec"]
    panels += [
        (f"tadmcodec {t['bpp']:.3f} bpp {t['psnr']:.2f} dB", outputs["tadmcodec"]),
        (f"timesteps: blue 0, red {high}", np.asarray(steps)),
    ]
    panel_w, panel_h = x1 - x0, y1 - y0
    canvas = Image.new("RGB", (panel_w * len(panels), panel_h + LABEL_HEIGHT), "white")
    draw = ImageDraw.Draw(canvas)
    for index, (label, pixels) in enumerate(panels):
        canvas.paste(Image.fromarray(np.ascontiguousarray(pixels[y0:y1, x0:x1])), (index * panel_w, LABEL_HEIGHT))
        draw.text((index * panel_w + 3, 3), label, fill="black")
    canvas.save(target, quality=88)

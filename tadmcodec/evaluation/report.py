"""The evaluation report, rebuilt from the per-image records: one CompressAI-style JSON per method and
dataset (name, description, results: lists over the scales), summary.md, and rate-quality plots."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

METRICS = {
    "bpp": "bpp",
    "psnr": "psnr-rgb",
    "psnr_y": "psnr-y",
    "ssim": "ssim-rgb",
    "ms_ssim": "ms-ssim-rgb",
    "st_lpips_alex": "st-lpips-alex",
    "st_lpips_vgg": "st-lpips-vgg",
    "ssimulacra2": "ssimulacra2-median",
    "detail_ratio": "detail_ratio",
    "grid_excess": "grid_excess_8px",
    "checkerboard": "checkerboard_2px",
    "pattern_4px": "pattern_4px",
    "encode_s_per_mp": "encoding_time_s_per_mp",
    "decode_s_per_mp": "decoding_time_s_per_mp",
}
RATIOS = ("detail_ratio", "grid_excess", "st_lpips_alex", "st_lpips_vgg")  # shown with three decimals, as SSIM
MEDIANS = ("ssimulacra2",)  # flat over most of the range these rates reach: a mean of it says little
# per image, tadmcodec against each other method: (metric, whether lower is better)
WINS = {"st_lpips_alex": True, "ssimulacra2": False}
DESCRIPTIONS = {
    "tadmcodec": "TADM learned extreme rescaling, .tadm container (shipped default models)",
    "bicubic": "Pillow bicubic down- and upscaling; rate = the LR image as optimized PNG",
    "lanczos": "Pillow Lanczos down- and upscaling; rate = the LR image as optimized PNG",
    "jpeg": "Pillow JPEG (libjpeg), highest quality within the .tadm file's bytes",
    "webp": "Pillow WebP (method 6), highest quality within the .tadm file's bytes",
    "avif": "Pillow AVIF (speed 6), highest quality within the .tadm file's bytes",
    "jpegxl": "JPEG XL via pillow-jxl-plugin, highest quality within the .tadm file's bytes",
    "avif-rescaled": "Lanczos downscale by 1, 2, 4 or 8, AVIF within the .tadm file's bytes, Lanczos up; best PSNR-Y",
    "tadmcodec-previous": "the previous release of the model, for comparison",
}
NOT_MEASURED = (
    "Wins: the images on which tadmcodec is better than the method (lower ST-LPIPS-Alex, higher "
    "SSIMULACRA2), of those both were measured on. SSIMULACRA2 is a median. LPIPS and DISTS: not "
    "measured (their ImageNet trunks are not available offline); ST-LPIPS is."
)


def load_records(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "images").glob("*/*.json"))]


def aggregate(records: list[dict]) -> dict:
    """dataset -> scale -> method -> {metric: mean (times: median) over the images where it was
    measured, n, skipped}."""
    table: dict = defaultdict(lambda: defaultdict(dict))
    grouped: dict = defaultdict(list)
    for record in records:
        grouped[record["dataset"], record["scale"]].append(record)
    for (dataset, scale), group in sorted(grouped.items()):
        for method in group[0]["methods"]:
            rows = [r["methods"][method] for r in group]
            measured = [row for row in rows if "psnr" in row]
            entry: dict = {"images": len(group), "n": len(measured)}
            for key in METRICS:
                values = [row[key] for row in measured if key in row]
                if values:  # times: the median, robust to a first image that also loaded the model
                    median = key.endswith("_per_mp") or key in MEDIANS
                    entry[key] = float(np.median(values) if median else np.mean(values))
                    entry[f"{key}_n"] = len(values)
            for key, lower in WINS.items():
                pairs = [
                    (r["methods"]["tadmcodec"][key], r["methods"][method][key])
                    for r in group
                    if key in r["methods"]["tadmcodec"] and key in r["methods"][method]
                ]
                if pairs and method != "tadmcodec":
                    entry[f"{key}_wins"] = [sum(a < b if lower else a > b for a, b in pairs), len(pairs)]
            if 0 < len(measured) < len(group):  # compare on the same images, not on all of them
                same = [r["methods"]["tadmcodec"]["psnr"] for r in group if "psnr" in r["methods"][method]]
                entry["tadmcodec_psnr_same_images"] = float(np.mean(same))
            notes = [row["skipped"] for row in rows if "skipped" in row]
            if notes:
                entry["skipped"] = f"skipped on {len(notes)}/{len(rows)} images, e.g. {notes[0]}"
            table[dataset][scale][method] = entry
    return table


def write_compressai(table: dict, out: Path) -> None:
    for dataset, scales in table.items():
        methods = {m for per_scale in scales.values() for m in per_scale}
        for method in sorted(methods):
            results: dict = defaultdict(list)
            points = sorted(scales, reverse=True)  # 32x then 16x: rising bpp, as CompressAI curves run
            for scale in points:
                entry = scales[scale].get(method, {})
                for key, name in METRICS.items():
                    if key in entry:
                        results[name].append(round(entry[key], 5))
            document = {
                "name": method,
                "description": f"{DESCRIPTIONS.get(method, method)}; dataset {dataset}; scales {points}",
                "results": dict(results),
            }
            (out / f"{dataset}-{method}.json").write_text(json.dumps(document, indent=1) + "\n")


def summary_markdown(table: dict) -> str:
    lines = []
    for dataset, scales in table.items():
        for scale, methods in sorted(scales.items()):
            count = max(m["images"] for m in methods.values())
            columns = [
                "method",
                "bpp",
                "PSNR",
                "PSNR-Y",
                "SSIM",
                "MS-SSIM",
                "ST-LPIPS Alex",
                "ST-LPIPS VGG",
                "SSIMULACRA2 (median)",
                "detail ratio",
                "8-px grid excess",
                "2-px checkerboard",
                "4-px pattern",
                "enc s/MP (median)",
                "dec s/MP",
                "tadmcodec wins: ST-LPIPS Alex, SSIMULACRA2",
            ]
            lines += [
                f"### {dataset}, {scale}x ({count} images)",
                "",
                "| " + " | ".join(columns) + " |",
                "|" + "---|" * len(columns),
            ]
            for method, entry in methods.items():
                if entry["n"] == 0:
                    lines.append(f"| {method} | {entry.get('skipped', 'not measured')} |{'|' * (len(columns) - 2)}")
                    continue
                cells = [
                    f"{entry[k]:.4f}"
                    if k == "bpp"
                    else f"{entry[k]:.3f}"
                    if k in ("ssim", "ms_ssim", *RATIOS)
                    else f"{entry[k]:.2f}"
                    if k in entry
                    else ""
                    for k in METRICS
                    if k != "bpp"
                ]
                name = method
                if entry["n"] != entry["images"]:
                    same = entry["tadmcodec_psnr_same_images"]
                    name = f"{method} (fits {entry['n']}/{entry['images']}; tadmcodec there: {same:.2f} dB)"
                s2 = entry.get("ssimulacra2_n")
                if s2 and s2 != entry["n"]:
                    cells[list(METRICS).index("ssimulacra2") - 1] += f" (n={s2})"
                wins = ", ".join(
                    f"{entry[f'{k}_wins'][0]}/{entry[f'{k}_wins'][1]}" for k in WINS if f"{k}_wins" in entry
                )
                lines.append(f"| {name} | {entry['bpp']:.4f} | " + " | ".join(cells) + f" | {wins} |")
            lines.append("")
    lines.append(NOT_MEASURED)
    return "\n".join(lines) + "\n"


def plot(table: dict, target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(table), 2, figsize=(10, 4 * len(table)), squeeze=False)
    for row, (dataset, scales) in enumerate(table.items()):
        for column, metric in enumerate(("psnr", "ssimulacra2")):
            axis = axes[row][column]
            methods = sorted({m for per_scale in scales.values() for m in per_scale})
            for method in methods:
                entries = [scales[s].get(method, {}) for s in sorted(scales, reverse=True)]
                # only points measured on every image: a mean over the images a codec fits is not comparable
                points = [(e["bpp"], e[metric]) for e in entries if metric in e and e["n"] == e["images"]]
                if points:
                    xs, ys = zip(*points, strict=True)
                    axis.plot(xs, ys, marker="o", label=method, linewidth=2.5 if method == "tadmcodec" else 1)
            axis.set_xscale("log")
            axis.set_xlabel("bits per pixel")
            axis.set_ylabel({"psnr": "PSNR (dB)", "ssimulacra2": "SSIMULACRA2"}[metric])
            axis.set_title(f"{dataset}: 32x and 16x")
            axis.grid(True, alpha=0.3)
            axis.legend(fontsize=8)
    figure.suptitle("standard codecs appear only where they fit the .tadm bytes on every image", fontsize=9)
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    plt.close(figure)


def write_report(out: Path) -> None:
    table = aggregate(load_records(out))
    if not table:
        return
    write_compressai(table, out)
    (out / "summary.md").write_text(summary_markdown(table))
    (out / "summary.json").write_text(json.dumps(table, indent=1) + "\n")
    plot(table, out / "rate-quality.png")

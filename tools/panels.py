"""Labelled pictures side by side, enlarged without smoothing, for judging pixels by eye."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

GAP, LABEL = 6, 18


def labelled_sheet(panels: list[tuple[str, np.ndarray]], zoom: int) -> Image.Image:
    """Same-sized (h, w, 3) uint8 panels in a row, each enlarged `zoom` times (nearest neighbour) under
    its label."""
    height, width = panels[0][1].shape[0] * zoom, panels[0][1].shape[1] * zoom
    sheet = Image.new("RGB", (len(panels) * (width + GAP) - GAP, height + LABEL), "white")
    draw = ImageDraw.Draw(sheet)
    for index, (label, pixels) in enumerate(panels):
        left = index * (width + GAP)
        sheet.paste(Image.fromarray(pixels).resize((width, height), Image.Resampling.NEAREST), (left, LABEL))
        draw.text((left + 4, 3), label, fill="black")
    return sheet

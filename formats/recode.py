"""Rewrite a container in another format version without touching its content: the same LR pixels,
timesteps, alpha and metadata, so every decode of it is unchanged. Tiles are copied one at a time."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import BinaryIO

from .chunks import FORMAT_MAJOR
from .header import LRCodec
from .reader import Source, TadmReader
from .writer import TadmWriter


def recode(source: Source, target: str | os.PathLike[str] | BinaryIO, version: int = FORMAT_MAJOR) -> None:
    """Write `source` (verified first) to `target` as a file of format `version`, with the writer's choice
    of tile codecs (TadmWriter). Given a path, `target` appears only when complete."""
    with TadmReader(source) as reader:
        reader.verify()
        header = replace(reader.header, lr_codec=LRCodec.PER_TILE)
        with TadmWriter(target, header, reader.metadata, version=version) as writer:
            for index in range(header.tile_count):
                writer.write_lr_tile(reader.read_lr_tile(index))
            writer.write_patches(reader.read_patches())
            if header.colour_type.has_alpha:
                for index in range(header.tile_count):
                    writer.write_alpha_tile(reader.read_alpha(header.alpha_tile_box(index)))

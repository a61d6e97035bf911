"""Header and thumbnail need only a prefix of the file; a region needs only its own tiles; no torch."""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import replace

import numpy as np

from tadmcodec_formats import ColourType, LRCodec, Metadata, TadmReader, TruncatedFileError
from tests.containers import random_container as make_container


class CountingFile(io.BytesIO):
    """A BytesIO that records the furthest byte and the total bytes read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.furthest = 0
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        self.furthest = max(self.furthest, self.tell())
        return chunk


def _thumbnail_end(data: bytes) -> int:
    with TadmReader(data) as reader:
        last = int(reader._offsets[reader.header.tile_count - 1])
        return last + 12 + reader._src.read_head(last)[1]


def test_thumbnail_reads_only_the_prefix() -> None:
    data, content = make_container(width=1500, height=900, colour=ColourType.RGBA, tile_width=16, tile_height=16)
    end = _thumbnail_end(data)
    assert end < len(data) / 10  # the full-resolution alpha lies after the LR tiles
    counting = CountingFile(data)
    with TadmReader(counting) as reader:
        lr = reader.read_lr()
    assert np.array_equal(lr, content["lr"])
    assert counting.furthest <= end


def test_thumbnail_from_a_truncated_file() -> None:
    data, content = make_container(width=1500, height=900, colour=ColourType.RGBA, metadata=Metadata(exif=b"II*\0"))
    prefix = data[: _thumbnail_end(data)]
    with TadmReader(prefix) as reader:
        assert reader.header == replace(content["header"], model_sha256=bytes(8), lr_codec=LRCodec.PER_TILE)
        assert reader.metadata.exif == b"II*\0"
        assert np.array_equal(reader.read_lr(), content["lr"])
        try:
            reader.read_patches()
        except TruncatedFileError as err:
            assert "offset" in str(err)
        else:
            raise AssertionError("the patch grid lies beyond the prefix")


def test_region_reads_only_its_tiles() -> None:
    data, content = make_container(width=4000, height=4000, tile_width=16, tile_height=16)
    counting = CountingFile(data)
    with TadmReader(counting) as reader:
        opened = counting.bytes_read
        region = reader.read_lr((20, 40, 30, 47))  # inside a single 16x16 tile
        assert np.array_equal(region, content["lr"][40:47, 20:30])
        one_tile = counting.bytes_read - opened
    assert one_tile < len(data) / 100


def test_reading_header_and_thumbnail_imports_no_torch(tmp_path) -> None:
    data, _ = make_container()
    path = tmp_path / "x.tadm"
    path.write_bytes(data)
    script = (
        "import sys, tadmcodec, tadmcodec_formats as f\n"
        f"r = f.TadmReader({str(path)!r}); r.header; r.read_lr(); r.read_patches()\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)

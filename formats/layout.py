"""Chunk types of the core structure and the fixed payload prefixes shared by reader and writer."""

from __future__ import annotations

import struct

THDR, TIDX, LRTL, PTCH, ALTL, TEND = b"THDR", b"TIDX", b"LRTL", b"PTCH", b"ALTL", b"TEND"
TILE_NUMBER = struct.Struct(">I")
INDEX_COUNT = struct.Struct(">I")
INDEX_ENTRY = struct.Struct(">Q")


def index_payload(offsets: list[int]) -> bytes:
    """TIDX payload: the entry count, then each tile chunk's absolute file offset."""
    return INDEX_COUNT.pack(len(offsets)) + b"".join(INDEX_ENTRY.pack(o) for o in offsets)


def has_index(major: int, tile_chunks: int) -> bool:
    """Whether a file has TIDX: always in version 1; in version 2 only with more than one tile chunk (a
    single tile follows the header)."""
    return major == 1 or tile_chunks > 1

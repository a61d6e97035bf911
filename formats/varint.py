"""Unsigned LEB128 varints, the compact integers of format version 2's small fields.

Seven bits per byte, least significant group first, the high bit set on every byte but the last. Only
the shortest encoding is valid (no trailing zero group), so each value has one byte string and a CRC'd
payload cannot hold the same header in two forms.
"""

from __future__ import annotations

from .errors import CorruptFileError

MAX_VARINT_BYTES = 5  # up to 2^35 - 1, beyond every field that uses them


def encode_varint(value: int) -> bytes:
    if value < 0:
        raise ValueError("varints are unsigned")
    out = bytearray()
    while value >= 0x80:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def read_varint(payload: bytes, position: int, where: str) -> tuple[int, int]:
    """(value, position after it) of the varint at `position`, refusing cut-off or non-minimal ones."""
    value = 0
    for count in range(MAX_VARINT_BYTES):
        if position + count >= len(payload):
            raise CorruptFileError(f"{where}: payload ends inside a varint")
        byte = payload[position + count]
        value |= (byte & 0x7F) << (7 * count)
        if not byte & 0x80:
            if byte == 0 and count:
                raise CorruptFileError(f"{where}: varint not in its shortest form")
            return value, position + count + 1
    raise CorruptFileError(f"{where}: varint longer than {MAX_VARINT_BYTES} bytes")

"""Byte-level framing of a .tadm file: the preamble and length/type/payload/CRC32 chunks.

The layout follows PNG: a signature that text-mode transfers visibly damage, then chunks whose
type's first letter tells critical (upper case) from ancillary (lower case).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from .errors import (
    ChecksumError,
    CorruptFileError,
    LimitExceededError,
    TruncatedFileError,
    UnsupportedVersionError,
)

MAGIC = b"\x89TADM\r\n\x1a\n"
# The version writers write by default, and the major versions this reader reads (SPEC.md section 1.1).
FORMAT_MAJOR = 2
FORMAT_MINOR = 0
READABLE_MAJORS = (1, 2)
PREAMBLE_SIZE = len(MAGIC) + 3
CHUNK_OVERHEAD = 12
MAX_CHUNK_PAYLOAD = 2**31 - 1

_LEN_TYPE = struct.Struct(">I4s")
_CRC = struct.Struct(">I")


@dataclass(frozen=True)
class Chunk:
    """One chunk as read from a file: its type, payload and the offset of its length field."""

    type: bytes
    payload: bytes
    offset: int

    @property
    def end(self) -> int:
        """Offset of the byte after this chunk's CRC."""
        return self.offset + CHUNK_OVERHEAD + len(self.payload)

    def where(self) -> str:
        """Location text for error messages."""
        return f"chunk {self.type.decode('ascii')} at offset {self.offset}"


def is_critical(chunk_type: bytes) -> bool:
    """A chunk is critical when the first letter of its type is upper case."""
    return chunk_type[:1].isupper()


def encode_preamble(major: int = FORMAT_MAJOR, minor: int = FORMAT_MINOR) -> bytes:
    """Signature, major and minor version and one reserved byte."""
    return MAGIC + bytes([major, minor, 0])


def decode_preamble(data: bytes) -> tuple[int, int]:
    """Check the signature and return (major, minor); refuses major versions this reader does not read."""
    if len(data) < len(MAGIC):
        if MAGIC.startswith(data):
            raise TruncatedFileError(f"file ends at offset {len(data)} inside the signature")
        raise CorruptFileError("not a TADM file: signature mismatch at offset 0")
    if data[: len(MAGIC)] != MAGIC:
        raise CorruptFileError(_signature_diagnosis(data[: len(MAGIC)]))
    if len(data) < PREAMBLE_SIZE:
        raise TruncatedFileError(f"file ends at offset {len(data)} inside the version bytes")
    major, minor = data[len(MAGIC)], data[len(MAGIC) + 1]
    if major not in READABLE_MAJORS:
        raise UnsupportedVersionError(
            f"format version {major}.{minor} at offset {len(MAGIC)}: this reader implements "
            f"major versions {', '.join(map(str, READABLE_MAJORS))} only"
        )
    return major, minor


def _signature_diagnosis(head: bytes) -> str:
    if head[1:5] == b"TADM":
        return "TADM signature damaged at offset 0 (as a text-mode or 7-bit transfer does)"
    return "not a TADM file: signature mismatch at offset 0"


def encode_chunk(chunk_type: bytes, payload: bytes) -> bytes:
    """Frame a payload as length, type, payload, CRC32(type + payload)."""
    check_type(chunk_type, 0)
    if len(payload) > MAX_CHUNK_PAYLOAD:
        raise LimitExceededError(f"chunk {chunk_type!r} payload of {len(payload)} bytes is over 2^31-1")
    crc = zlib.crc32(payload, zlib.crc32(chunk_type))
    return _LEN_TYPE.pack(len(payload), chunk_type) + payload + _CRC.pack(crc)


def check_type(chunk_type: bytes, offset: int) -> None:
    """Chunk types are four ASCII letters."""
    if len(chunk_type) != 4 or not all(65 <= b <= 90 or 97 <= b <= 122 for b in chunk_type):
        raise CorruptFileError(f"invalid chunk type {chunk_type!r} at offset {offset}")


class ChunkSource:
    """Random-access chunk reads from a seekable binary file of known size.

    Every declared length is checked against the file size before anything is allocated.
    """

    def __init__(self, fp: BinaryIO) -> None:
        self._fp = fp
        fp.seek(0, 2)
        self.size = fp.tell()

    def read_exact(self, offset: int, count: int, what: str) -> bytes:
        """Read count bytes at offset or raise TruncatedFileError naming what was being read."""
        if offset + count > self.size:
            raise TruncatedFileError(f"{what} at offset {offset} needs {count} bytes but the file ends at {self.size}")
        self._fp.seek(offset)
        data = self._fp.read(count)
        if len(data) != count:
            raise TruncatedFileError(f"{what} at offset {offset}: short read ({len(data)} of {count} bytes)")
        return data

    def read_head(self, offset: int) -> tuple[bytes, int]:
        """Type and payload length of the chunk at offset, without reading its payload."""
        length, chunk_type = _LEN_TYPE.unpack(self.read_exact(offset, 8, "chunk header"))
        check_type(chunk_type, offset)
        name = chunk_type.decode("ascii")
        if length > MAX_CHUNK_PAYLOAD:
            raise CorruptFileError(f"chunk {name} at offset {offset} declares {length} bytes (over 2^31-1)")
        if offset + CHUNK_OVERHEAD + length > self.size:
            raise TruncatedFileError(
                f"chunk {name} at offset {offset} declares {length} bytes but the file ends at {self.size}"
            )
        return chunk_type, length

    def read_chunk(self, offset: int) -> Chunk:
        """Read and CRC-check the chunk whose length field is at offset."""
        chunk_type, length = self.read_head(offset)
        what = f"chunk {chunk_type.decode('ascii')}"
        payload = self.read_exact(offset + 8, length, what)  # apart from the CRC: no copy of a large payload
        (crc,) = _CRC.unpack(self.read_exact(offset + 8 + length, 4, what))
        if zlib.crc32(payload, zlib.crc32(chunk_type)) != crc:
            raise ChecksumError(f"CRC mismatch in chunk {chunk_type.decode('ascii')} at offset {offset}")
        return Chunk(chunk_type, payload, offset)

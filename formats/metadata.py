"""Metadata passthrough chunks: EXIF (eXIf), ICC profile (iCCP), XMP (xMPp) and free text (tEXt)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .chunks import Chunk
from .errors import CorruptFileError

EXIF, ICC, XMP, TEXT = b"eXIf", b"iCCP", b"xMPp", b"tEXt"
METADATA_TYPES = (EXIF, ICC, XMP, TEXT)
MAX_KEY_BYTES = 79


@dataclass
class Metadata:
    """Bytes carried unchanged from the input image to the decoded one."""

    exif: bytes | None = None
    icc_profile: bytes | None = None
    xmp: bytes | None = None
    text: dict[str, str] = field(default_factory=dict)

    def to_chunks(self) -> list[tuple[bytes, bytes]]:
        """(type, payload) pairs in the order a writer emits them."""
        chunks = [(t, data) for t, data in ((EXIF, self.exif), (ICC, self.icc_profile), (XMP, self.xmp)) if data]
        for key, value in self.text.items():
            chunks.append((TEXT, _text_payload(key, value)))
        return chunks

    @property
    def stored_bytes(self) -> int:
        """Bytes the metadata takes in a container (its chunks, with their 12-byte framing)."""
        return sum(12 + len(payload) for _, payload in self.to_chunks())

    def add(self, chunk: Chunk) -> None:
        """Take one metadata chunk read from a file; a repeated EXIF, ICC or XMP chunk is an error."""
        if chunk.type == TEXT:
            key, value = _parse_text(chunk)
            if key in self.text:
                raise CorruptFileError(f"{chunk.where()}: repeated text key {key!r}")
            self.text[key] = value
            return
        attribute = {EXIF: "exif", ICC: "icc_profile", XMP: "xmp"}[chunk.type]
        if getattr(self, attribute) is not None:
            raise CorruptFileError(f"{chunk.where()}: repeated {attribute} chunk")
        setattr(self, attribute, chunk.payload)


def _text_payload(key: str, value: str) -> bytes:
    raw_key = key.encode("utf-8")
    if not 1 <= len(raw_key) <= MAX_KEY_BYTES or b"\0" in raw_key:
        raise ValueError(f"text key {key!r} must be 1-{MAX_KEY_BYTES} UTF-8 bytes without NUL")
    return raw_key + b"\0" + value.encode("utf-8")


def _parse_text(chunk: Chunk) -> tuple[str, str]:
    raw_key, sep, raw_value = chunk.payload.partition(b"\0")
    if not sep or not 1 <= len(raw_key) <= MAX_KEY_BYTES:
        raise CorruptFileError(f"{chunk.where()}: text chunk needs a 1-{MAX_KEY_BYTES} byte key and a NUL")
    try:
        return raw_key.decode("utf-8"), raw_value.decode("utf-8")
    except UnicodeDecodeError:
        raise CorruptFileError(f"{chunk.where()}: text is not UTF-8") from None

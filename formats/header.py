"""The THDR chunk: image geometry, pixel layout, LR tiling and the model that encoded the file."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, replace
from enum import IntEnum

from .errors import CorruptFileError, LimitExceededError, UnsupportedFeatureError
from .varint import encode_varint, read_varint

MAX_SIDE = 1 << 22
SCALES = (16, 32)
MIN_TILE, MAX_TILE = 8, 512
LATENT_FACTOR = 8
# A model id is a name, never a path: it starts with a letter or digit (no "..", no hidden names).
MODEL_ID_PATTERN = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

# Version 1's THDR up to the model id; version 2 codes sizes as varints and keeps a prefix of the hash.
_FIXED_V1 = struct.Struct(">IIBBBBHHB32sB")
_ENUMS_V2 = struct.Struct(">BBBB")
MODEL_HASH_PREFIX = 8


class ColourType(IntEnum):
    """Channel layout of the original image (PNG's colour-type numbers)."""

    GRAY = 0
    RGB = 2
    GRAY_ALPHA = 4
    RGBA = 6

    @property
    def has_alpha(self) -> bool:
        return self in (ColourType.GRAY_ALPHA, ColourType.RGBA)

    @property
    def mode(self) -> str:
        """The Pillow mode of a decoded image."""
        return {0: "L", 2: "RGB", 4: "LA", 6: "RGBA"}[self.value]


class ColourSpace(IntEnum):
    """How to interpret the RGB values."""

    SRGB = 0
    ICC = 1
    UNSPECIFIED = 2


class LRCodec(IntEnum):
    """Compression of LR and alpha tile payloads. Version 1 names one codec for the whole file in THDR;
    version 2 files are PER_TILE: each tile names its own, and the reference writer picks the smallest."""

    RAW = 0
    ZSTD_PREDICTIVE = 1
    PER_TILE = 255


def latent_size_of(lr_width: int, lr_height: int, scale: int) -> tuple[int, int]:
    """(width, height) of the latent an LR image of lr_width x lr_height at `scale` maps to (1/8 of the
    padded image): the size the patch grid covers."""
    return lr_width * scale // LATENT_FACTOR, lr_height * scale // LATENT_FACTOR


@dataclass(frozen=True)
class Header:
    """Everything a reader needs before any pixel: sizes, layout, tiling and the model identity."""

    width: int
    height: int
    scale: int
    colour_type: ColourType
    model_id: str
    model_sha256: bytes
    colour_space: ColourSpace = ColourSpace.SRGB
    tile_width: int = 256
    tile_height: int = 256
    lr_codec: LRCodec = LRCodec.PER_TILE
    bit_depth: int = 8

    def __post_init__(self) -> None:
        self.validate()

    # --- derived geometry -------------------------------------------------------------
    @property
    def lr_width(self) -> int:
        return -(-self.width // self.scale)

    @property
    def lr_height(self) -> int:
        return -(-self.height // self.scale)

    @property
    def padded_size(self) -> tuple[int, int]:
        """Size the codec works at: the image padded right and bottom to a multiple of the scale."""
        return self.lr_width * self.scale, self.lr_height * self.scale

    @property
    def latent_size(self) -> tuple[int, int]:
        return latent_size_of(self.lr_width, self.lr_height, self.scale)

    @property
    def lr_channels(self) -> int:
        """LR tiles hold RGB, plus the area-averaged alpha when the image has alpha."""
        return 4 if self.colour_type.has_alpha else 3

    @property
    def tiles_x(self) -> int:
        return -(-self.lr_width // self.tile_width)

    @property
    def tiles_y(self) -> int:
        return -(-self.lr_height // self.tile_height)

    @property
    def tile_count(self) -> int:
        return self.tiles_x * self.tiles_y

    @property
    def tile_chunks(self) -> int:
        """LRTL chunks, plus as many ALTL chunks when the image has alpha: the entries of TIDX."""
        return self.tile_count * (2 if self.colour_type.has_alpha else 1)

    def lr_tile_box(self, index: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of LR tile `index` (row-major), clipped to the LR image."""
        ty, tx = divmod(index, self.tiles_x)
        x0, y0 = tx * self.tile_width, ty * self.tile_height
        return x0, y0, min(x0 + self.tile_width, self.lr_width), min(y0 + self.tile_height, self.lr_height)

    def alpha_tile_box(self, index: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) in original pixels of the alpha tile under LR tile `index`."""
        x0, y0, x1, y1 = (v * self.scale for v in self.lr_tile_box(index))
        return x0, y0, min(x1, self.width), min(y1, self.height)

    def tiles_in_lr_box(self, x0: int, y0: int, x1: int, y1: int) -> list[int]:
        """Indices of the LR tiles that intersect the LR box [x0, x1) x [y0, y1)."""
        cols = range(x0 // self.tile_width, -(-x1 // self.tile_width))
        rows = range(y0 // self.tile_height, -(-y1 // self.tile_height))
        return [ty * self.tiles_x + tx for ty in rows for tx in cols]

    @property
    def mode(self) -> str:
        return self.colour_type.mode

    # --- validation and bytes --------------------------------------------------------
    def validate(self) -> None:
        """Refuse values outside the specification before any size is used to allocate."""
        for name in ("width", "height"):
            value = getattr(self, name)
            if not 1 <= value <= MAX_SIDE:
                raise LimitExceededError(f"THDR {name} {value} outside [1, {MAX_SIDE}]")
        if self.scale not in SCALES:
            raise UnsupportedFeatureError(f"THDR scale {self.scale} not one of {SCALES}")
        for name in ("tile_width", "tile_height"):
            value = getattr(self, name)
            if not MIN_TILE <= value <= MAX_TILE:
                raise LimitExceededError(f"THDR {name} {value} outside [{MIN_TILE}, {MAX_TILE}]")
        if self.bit_depth != 8:
            raise UnsupportedFeatureError(f"THDR bit depth {self.bit_depth}: the container stores 8 bits only")
        if len(self.model_sha256) not in (32, MODEL_HASH_PREFIX):
            raise CorruptFileError(f"THDR model SHA-256 must be 32 bytes (or its first {MODEL_HASH_PREFIX})")
        if not MODEL_ID_PATTERN.fullmatch(self.model_id.encode("ascii", "replace")):
            raise CorruptFileError(f"THDR model id {self.model_id!r} is not 1-64 of [A-Za-z0-9._-]")

    def matches_model(self, digest: bytes) -> bool:
        """Whether a model's full SHA-256 is the one the file names (version 2 stores its first 8 bytes)."""
        return len(digest) == 32 and digest.startswith(self.model_sha256)

    def for_version(self, major: int) -> Header:
        """This header as a file of that major version stores it: version 2 keeps the first 8 bytes of the
        model hash and lets each tile name its codec; version 1 names one codec for the file
        (zstd-predictive where the writer was to choose)."""
        if major == 1:
            if len(self.model_sha256) != 32:
                raise UnsupportedFeatureError(
                    "format version 1 stores the model's full SHA-256; a version 2 header holds its first 8 bytes"
                )
            return replace(self, lr_codec=LRCodec.ZSTD_PREDICTIVE) if self.lr_codec == LRCodec.PER_TILE else self
        return replace(self, model_sha256=self.model_sha256[:MODEL_HASH_PREFIX], lr_codec=LRCodec.PER_TILE)

    def to_bytes(self, major: int) -> bytes:
        stored = self.for_version(major)
        model = self.model_id.encode("ascii")
        if major == 1:
            return (
                _FIXED_V1.pack(
                    self.width,
                    self.height,
                    self.scale,
                    self.colour_type,
                    self.bit_depth,
                    self.colour_space,
                    self.tile_width,
                    self.tile_height,
                    stored.lr_codec,
                    self.model_sha256,
                    len(model),
                )
                + model
            )
        return b"".join(
            (
                encode_varint(self.width),
                encode_varint(self.height),
                _ENUMS_V2.pack(self.scale, self.colour_type, self.bit_depth, self.colour_space),
                encode_varint(self.tile_width),
                encode_varint(self.tile_height),
                stored.model_sha256,
                bytes([len(model)]),
                model,
            )
        )

    @classmethod
    def from_bytes(cls, payload: bytes, offset: int, major: int) -> Header:
        """Parse a THDR payload of that major version; bytes after the model id are reserved for later
        minor versions."""
        where = f"chunk THDR at offset {offset}"
        try:
            fields, position = (_parse_v1 if major == 1 else _parse_v2)(payload, where)
            id_len = payload[position] if position < len(payload) else 0
            model = payload[position + 1 : position + 1 + id_len]
            if len(model) != id_len or not MODEL_ID_PATTERN.fullmatch(model):
                raise CorruptFileError(f"{where}: invalid model id")
            colour, space, codec = fields.pop("colour"), fields.pop("space"), fields.pop("codec")
            return cls(
                colour_type=_enum(ColourType, colour, "colour type"),
                colour_space=_enum(ColourSpace, space, "colour space"),
                lr_codec=_enum(LRCodec, codec, "LR codec"),
                model_id=model.decode("ascii"),
                **fields,
            )
        except (CorruptFileError, LimitExceededError, UnsupportedFeatureError) as err:
            message = str(err)
            raise type(err)(message if message.startswith(where) else f"{where}: {message}") from None


def _parse_v1(payload: bytes, where: str) -> tuple[dict, int]:
    if len(payload) < _FIXED_V1.size:
        raise CorruptFileError(f"{where}: payload of {len(payload)} bytes is shorter than {_FIXED_V1.size}")
    (width, height, scale, colour, depth, space, tw, th, codec, sha, _) = _FIXED_V1.unpack_from(payload)
    if codec == LRCodec.PER_TILE:
        raise UnsupportedFeatureError(f"unknown LR codec {codec}")
    fields = dict(width=width, height=height, scale=scale, colour=colour, bit_depth=depth, space=space)
    fields |= dict(tile_width=tw, tile_height=th, codec=codec, model_sha256=sha)
    return fields, _FIXED_V1.size - 1


def _parse_v2(payload: bytes, where: str) -> tuple[dict, int]:
    width, position = read_varint(payload, 0, where)
    height, position = read_varint(payload, position, where)
    if len(payload) < position + _ENUMS_V2.size:
        raise CorruptFileError(f"{where}: payload ends inside the header fields")
    scale, colour, depth, space = _ENUMS_V2.unpack_from(payload, position)
    tile_width, position = read_varint(payload, position + _ENUMS_V2.size, where)
    tile_height, position = read_varint(payload, position, where)
    sha = payload[position : position + MODEL_HASH_PREFIX]
    if len(sha) != MODEL_HASH_PREFIX:
        raise CorruptFileError(f"{where}: payload ends inside the model hash")
    fields = dict(width=width, height=height, scale=scale, colour=colour, bit_depth=depth, space=space)
    fields |= dict(tile_width=tile_width, tile_height=tile_height, codec=LRCodec.PER_TILE, model_sha256=sha)
    return fields, position + MODEL_HASH_PREFIX


def _enum(kind: type[IntEnum], value: int, name: str) -> IntEnum:
    try:
        return kind(value)
    except ValueError:
        raise UnsupportedFeatureError(f"unknown {name} {value}") from None

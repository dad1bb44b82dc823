"""In-memory file storage and the little image-header reading the emulator needs."""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import struct
import zlib
from dataclasses import dataclass, field


class ImageError(ValueError):
    """Bytes that are not a PNG, JPEG or GIF image Telegram would accept as a photo."""


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG, JPEG or GIF header, without decoding pixels."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise ImageError("truncated PNG header")
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data.startswith((b"GIF87a", b"GIF89a")):
        if len(data) < 10:
            raise ImageError("truncated GIF header")
        width, height = struct.unpack("<HH", data[6:10])
        return width, height
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    raise ImageError("not a PNG, JPEG or GIF image")


# Start-of-frame markers carry the dimensions; DHT (C4), JPG (C8) and DAC (CC) do not.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i = 2
    n = len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            raise ImageError("corrupt JPEG marker")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            i += 2
            continue
        (segment_length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in _SOF_MARKERS:
            if i + 9 > n:
                break
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        if marker == 0xDA:  # start of scan: no frame header came first
            break
        i += 2 + segment_length
    raise ImageError("JPEG without a frame header")


@dataclass(slots=True)
class StoredFile:
    """One uploaded file's bytes and metadata; ``key`` is private to the emulator."""

    key: int
    unique_id: str
    kind: str  # "photo" or "document"
    content: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class FileStore:
    """Files keyed internally; each bot sees its own file_id for the same file, like Telegram."""

    files: dict[int, StoredFile] = field(default_factory=dict)
    by_unique: dict[str, StoredFile] = field(default_factory=dict)
    by_path: dict[str, StoredFile] = field(default_factory=dict)
    # file_id -> (bot id, file key); (bot id, key) -> file_id
    ids: dict[str, tuple[int, int]] = field(default_factory=dict)
    issued: dict[tuple[int, int], str] = field(default_factory=dict)
    next_key: int = 1

    def add(
        self,
        content: bytes,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        key = self.next_key
        self.next_key += 1
        unique_id = "AQAD" + _b64(hashlib.sha256(b"%d:" % key + content[:4096]).digest()[:9])
        width = height = None
        if kind == "photo":
            width, height = image_size(content)
            file_path = f"photos/file_{key}.{_photo_extension(content)}"
        else:
            suffix = ""
            if file_name and "." in file_name:
                suffix = "." + file_name.rsplit(".", 1)[1][:10]
            file_path = f"documents/file_{key}{suffix}"
            if mime_type is None or mime_type == "application/octet-stream":
                guessed = mimetypes.guess_type(file_name or "")[0]
                mime_type = guessed or mime_type or "application/octet-stream"
        stored = StoredFile(
            key=key,
            unique_id=unique_id,
            kind=kind,
            content=content,
            file_path=file_path,
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
        )
        self.files[key] = stored
        self.by_unique[unique_id] = stored
        self.by_path[file_path] = stored
        return stored

    def file_id(self, bot_id: int, stored: StoredFile) -> str:
        """The file_id under which ``bot_id`` knows ``stored``; stable across calls."""
        issued = self.issued.get((bot_id, stored.key))
        if issued is not None:
            return issued
        prefix = "AgAC" if stored.kind == "photo" else "BQAC"
        raw = (
            struct.pack(">qq", bot_id, stored.key)
            + hashlib.sha256(b"%d:%d" % (bot_id, stored.key)).digest()[:12]
        )
        file_id = prefix + _b64(raw)
        self.issued[(bot_id, stored.key)] = file_id
        self.ids[file_id] = (bot_id, stored.key)
        return file_id

    def resolve(self, bot_id: int, file_id: str) -> StoredFile | None:
        """The file behind ``file_id`` if that id was issued to this bot."""
        owner = self.ids.get(file_id)
        if owner is None or owner[0] != bot_id:
            return None
        return self.files.get(owner[1])

    def clear(self) -> None:
        self.files.clear()
        self.by_unique.clear()
        self.by_path.clear()
        self.ids.clear()
        self.issued.clear()


def _photo_extension(content: bytes) -> str:
    if content.startswith(b"\x89PNG"):
        return "png"
    if content.startswith(b"GIF8"):
        return "gif"
    return "jpg"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def make_png(width: int, height: int, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid solid-colour PNG, for tests and demos that need a photo to upload."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )

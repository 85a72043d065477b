"""Small image builders for tests of bad input (real photos come from ../shared/testdata)."""

from __future__ import annotations

import struct
import zlib


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width×height, with one empty data chunk: cheap to make at any size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def blank_jpeg(width: int = 320, height: int = 240) -> bytes:
    """A plain grey picture: a valid image with no face in it."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (128, 128, 128)).save(out, format="JPEG")
    return out.getvalue()


def zip_of(files: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def still_camera(photo: bytes, frames: int = 3) -> list[bytes]:
    """`frames` frames of a camera that sees the photo's scene standing still: the same pixels, each encoded
    apart (a camera's frames are never the same bytes; the frame endpoint counts a repeated frame once)."""
    import io

    from PIL import Image

    picture = Image.open(io.BytesIO(photo)).convert("RGB")
    encoded = []
    for n in range(frames):
        out = io.BytesIO()
        picture.save(out, format="JPEG", quality=95 - n)
        encoded.append(out.getvalue())
    return encoded


def face_crop_jpeg(photo) -> bytes:
    """The labelled face of an LFW photo (250×250, the face central: README of the test data), cropped as the
    frame path crops a visit's snapshot, as a JPEG."""
    import io

    from PIL import Image

    out = io.BytesIO()
    with Image.open(photo) as image:
        image.convert("RGB").crop((70, 60, 180, 190)).save(out, format="JPEG", quality=90)
    return out.getvalue()

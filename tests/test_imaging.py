from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFile

from function_app.errors import InvalidImage, InvalidImageSize
from function_app.imaging import decode_image

from .support.images import png_header_only

LIMITS = {"max_bytes": 6 * 1024 * 1024, "max_side": 8192}


def _encode(rgb: np.ndarray, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format=fmt, **options)
    return out.getvalue()


def test_real_jpeg_decodes_to_contiguous_rgb(testdata):
    rgb = decode_image((testdata / "people/obama/1.jpg").read_bytes(), **LIMITS)
    assert rgb.shape == (1137, 910, 3)
    assert rgb.dtype == np.uint8
    assert rgb.flags["C_CONTIGUOUS"]


def test_rgba_png_becomes_rgb(testdata):
    rgb = decode_image((testdata / "scenes/32bit.png").read_bytes(), **LIMITS)
    assert rgb.shape == (1200, 626, 3)


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "WEBP"])
def test_other_formats_round_trip(testdata, fmt):
    rgb = decode_image((testdata / "scenes/obama_small.jpg").read_bytes(), **LIMITS)
    again = decode_image(_encode(rgb, fmt, **({"lossless": True} if fmt == "WEBP" else {})), **LIMITS)
    assert np.array_equal(rgb, again)


def test_exif_orientation_is_applied(testdata):
    rgb = decode_image((testdata / "scenes/obama_small.jpg").read_bytes(), **LIMITS)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90° clockwise to view
    rotated = _encode(rgb, "JPEG", exif=exif.tobytes(), quality=95)
    upright = decode_image(rotated, **LIMITS)
    assert upright.shape == (rgb.shape[1], rgb.shape[0], 3)


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (b"", InvalidImage, "empty"),
        (b"this is not an image at all", InvalidImage, "not a JPEG"),
        (png_header_only(0, 0), InvalidImage, "not a JPEG"),
        (png_header_only(20, 20), InvalidImageSize, "at least 36"),
        (png_header_only(9000, 100), InvalidImageSize, "at most 8192"),
        (png_header_only(60000, 60000), InvalidImageSize, "too many pixels"),
        (b"GIF89a" + b"\x00" * 10, InvalidImage, "not a JPEG"),
    ],
    ids=["empty", "not-an-image", "zero-by-zero", "tiny", "too-wide", "decompression-bomb", "broken-gif"],
)
def test_bad_images_are_refused_with_a_reason(data, error, words):
    with pytest.raises(error) as caught:
        decode_image(data, **LIMITS)
    assert words in caught.value.message
    assert caught.value.message.endswith(".")


def test_truncated_jpeg_is_refused(testdata):
    assert not ImageFile.LOAD_TRUNCATED_IMAGES, "something imported face_recognition into this process"
    data = (testdata / "people/obama/1.jpg").read_bytes()
    with pytest.raises(InvalidImage, match="truncated or corrupt"):
        decode_image(data[: len(data) // 2], **LIMITS)


def test_too_many_bytes_is_refused(testdata):
    data = (testdata / "people/obama/1.jpg").read_bytes()
    with pytest.raises(InvalidImageSize, match="largest accepted"):
        decode_image(data, max_bytes=len(data) - 1, max_side=8192)

from __future__ import annotations

import io

import cv2
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


# How a camera stores an upright picture under each EXIF Orientation value (the tag says how to turn the
# stored pixels to view them): written with numpy from the EXIF specification, independently of Pillow.
STORED_AS = {
    1: lambda up: up,
    2: lambda up: up[:, ::-1],  # mirrored left to right
    3: lambda up: np.rot90(up, 2),  # upside down
    4: lambda up: up[::-1],  # mirrored top to bottom
    5: lambda up: up.transpose(1, 0, 2),  # mirrored along the main diagonal
    6: lambda up: np.rot90(up, 1),  # turned 90° counter-clockwise: view it by turning 90° clockwise
    7: lambda up: np.rot90(up.transpose(1, 0, 2), 2),  # mirrored along the other diagonal
    8: lambda up: np.rot90(up, -1),  # turned 90° clockwise: view it by turning 90° counter-clockwise
}


def _stored_sideways(upright: np.ndarray, orientation: int, fmt: str, **options) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _encode(np.ascontiguousarray(STORED_AS[orientation](upright)), fmt, exif=exif.tobytes(), **options)


@pytest.mark.parametrize("orientation", sorted(STORED_AS))
def test_exif_orientation_turns_the_stored_pixels_upright(testdata, orientation):
    upright = decode_image((testdata / "scenes/obama_small.jpg").read_bytes(), **LIMITS)
    stored = _stored_sideways(upright, orientation, "PNG")  # lossless: every pixel must come back
    assert np.array_equal(decode_image(stored, **LIMITS), upright)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_a_phone_photo_stored_sideways_decodes_upright_with_its_face_in_place(testdata, engine, orientation):
    upright = decode_image((testdata / "people/obama/1.jpg").read_bytes(), **LIMITS)
    [expected] = engine.detect(upright, embeddings=False)
    decoded = decode_image(_stored_sideways(upright, orientation, "JPEG", quality=95), **LIMITS)
    assert decoded.shape == upright.shape
    assert np.abs(decoded.astype(np.int16) - upright).mean() < 3  # only the JPEG loss differs
    [found] = engine.detect(decoded, embeddings=False)
    for side in ("left", "top", "width", "height"):
        assert abs(getattr(found.rectangle, side) - getattr(expected.rectangle, side)) <= 4, side


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


def test_a_cameras_jpeg_decodes_to_the_pixels_pillow_decodes(testdata):
    """Whole, upright colour JPEGs (a camera's frames) are decoded by OpenCV, the rest by Pillow: the same pixels
    either way, so which decoder ran never changes a face found."""
    video = cv2.VideoCapture(str(testdata / "video/short_hamilton_clip.mp4"))
    frames: list[bytes] = []
    while len(frames) < 8:
        ok, bgr = video.read()
        assert ok
        frames.append(cv2.imencode(".jpg", bgr)[1].tobytes())
    video.release()
    photos = [(testdata / path).read_bytes() for path in ("people/obama/1.jpg", "scenes/obama_small.jpg")]
    for jpeg in frames + photos:
        with Image.open(io.BytesIO(jpeg)) as image:
            expected = np.asarray(image.convert("RGB"))
        assert np.array_equal(decode_image(jpeg, **LIMITS), expected)

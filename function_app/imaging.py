"""Turn uploaded bytes into an RGB pixel array, or refuse them with a clear reason.

Every decode keeps to one pixel budget, checked from the header before any pixel is decoded: a
few kilobytes can claim 8192×8192 pixels, which decode to 200 MB (and several copies of that while
converting). A JPEG over the budget is decoded at a reduced scale (1/2, 1/4 or 1/8, by the JPEG
decoder itself, so the full size is never in memory); other formats over it are refused."""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from . import models
from .errors import InvalidImage, InvalidImageSize
from .settings import Settings

SUPPORTED_FORMATS = ("JPEG", "PNG", "BMP", "WEBP", "GIF")
MIN_SIDE = 36  # Azure's smallest accepted image side
# The most pixels any decode produces: 16.8 M (4096×4096, 50 MB as RGB). A 12-megapixel photo
# decodes whole; a 24-megapixel JPEG at half scale. Detection never looks at more than
# FACE_DETECT_MAX_SIDE pixels a side anyway.
PIXEL_BUDGET = 4096 * 4096
_JPEG_SCALES = (1, 2, 4, 8)  # the reductions libjpeg decodes directly
_SIXTEEN_BIT_GRAY = ("I;16", "I;16B", "I;16L", "I;16N", "I")


@dataclass(frozen=True)
class Decoded:
    """The pixels, and how many pixels of the original each stands for (1.0 unless decoded reduced)."""

    rgb: np.ndarray  # H×W×3 uint8, contiguous
    scale: float = 1.0


def decode_image(data: bytes, *, max_bytes: int, max_side: int, max_pixels: int = PIXEL_BUDGET) -> np.ndarray:
    """Decode JPEG / PNG / BMP / WebP / GIF bytes to a contiguous H×W×3 uint8 RGB array.

    EXIF orientation is applied, so phone photos come out upright. A JPEG over `max_pixels` comes
    out reduced (see `decode_within_budget` for the scale)."""
    return decode_within_budget(data, max_bytes=max_bytes, max_side=max_side, max_pixels=max_pixels).rgb


def decode_within_budget(data: bytes, *, max_bytes: int, max_side: int, max_pixels: int = PIXEL_BUDGET) -> Decoded:
    image = _open(data, max_bytes=max_bytes, max_side=max_side)
    width, height = image.size
    scale = _jpeg_reduction(image, max_pixels)
    if width * height > max_pixels and scale == 1:
        raise InvalidImageSize(
            f"The image is {width}×{height} pixels; a {image.format} image may have at most {max_pixels} pixels "
            "(a JPEG may be larger)."
        )
    if scale == 1 and _plain_jpeg(image, data):
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION)
        if pixels is not None and pixels.shape == (height, width, 3):
            return Decoded(pixels)
    if scale > 1:
        image.draft("RGB", (width // scale, height // scale))  # Pillow picks the reduction from the floors
    try:
        # Raises on truncated data as long as Pillow's ImageFile.LOAD_TRUNCATED_IMAGES keeps its
        # default (False); the face_recognition package turns it on when imported, so the service
        # never imports it (only the benchmark does, in its own process).
        image.load()
        actual_scale = width / image.size[0]
        rgb = _eight_bit(image)
        # In place, and converted only when not RGB already: each copy of a 640×360 frame cost as much as a
        # third of decoding it (a camera's frame is an upright RGB JPEG).
        ImageOps.exif_transpose(rgb, in_place=True)
        rgb = rgb if rgb.mode == "RGB" else rgb.convert("RGB")
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidImage(f"The image is truncated or corrupt: {exc}.") from None
    return Decoded(np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8)), actual_scale)


def _open(data: bytes, *, max_bytes: int, max_side: int) -> Image.Image:
    """The image with its header read and checked; no pixel decoded yet."""
    if not data:
        raise InvalidImage("The image is empty.")
    if len(data) > max_bytes:
        raise InvalidImageSize(f"The image is {len(data)} bytes; the largest accepted is {max_bytes} bytes.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise InvalidImageSize(f"The image has too many pixels; each side must be at most {max_side}.") from None
    except UnidentifiedImageError:
        raise InvalidImage("The data is not a JPEG, PNG, BMP, GIF or WebP image.") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidImage(f"The image header is corrupt: {exc}.") from None
    if image.format not in SUPPORTED_FORMATS:
        raise InvalidImage(f"Image format {image.format} is not supported; use JPEG, PNG, BMP, GIF or WebP.")
    width, height = image.size
    if min(width, height) < MIN_SIDE:
        raise InvalidImageSize(f"The image is {width}×{height} pixels; each side must be at least {MIN_SIDE}.")
    if max(width, height) > max_side:
        raise InvalidImageSize(f"The image is {width}×{height} pixels; each side must be at most {max_side}.")
    return image


def _plain_jpeg(image: Image.Image, data: bytes) -> bool:
    """A whole (ending in its EOI marker), upright, colour JPEG: what a camera sends. OpenCV decodes these to
    the very pixels Pillow does (both run libjpeg-turbo with its defaults: the same on the dev video's frames
    and the 593 JPEGs of the test data) in 0.65 of the time, into an array of its own where Pillow copies its
    pixels out once more. The rest stays with Pillow: a truncated file (which OpenCV would fill in with grey
    instead of refusing), an EXIF orientation, grey or CMYK."""
    return (
        image.format == "JPEG"
        and image.mode == "RGB"
        and data.endswith(b"\xff\xd9")
        and image.getexif().get(ExifTags.Base.Orientation, 1) == 1
    )


def _jpeg_reduction(image: Image.Image, max_pixels: int) -> int:
    """The smallest JPEG reduction that fits the budget (1: none needed, or not a JPEG)."""
    if image.format != "JPEG":
        return 1
    width, height = image.size
    return next((s for s in _JPEG_SCALES if math.ceil(width / s) * math.ceil(height / s) <= max_pixels), 1)


def _eight_bit(image: Image.Image) -> Image.Image:
    """16-bit grayscale scaled to 8 bits: Pillow's own conversion clips it (all white)."""
    if image.mode not in _SIXTEEN_BIT_GRAY:
        return image
    wide = np.asarray(image).astype(np.uint32)
    return Image.fromarray((np.clip(wide, 0, 65535) >> 8).astype(np.uint8), mode="L")


def media_type(data: bytes) -> str:
    """The media type of image bytes from their header (no pixel decoded), never from a name;
    application/octet-stream for bytes that are no image this service accepts."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            found = image.format
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        return "application/octet-stream"
    return (
        Image.MIME.get(found, "application/octet-stream") if found in SUPPORTED_FORMATS else "application/octet-stream"
    )


def decode_upload(data: bytes, settings: Settings) -> models.Image:
    """Uploaded bytes as an `Image` (pixels, the scale they were decoded at, and those bytes), within the
    settings' size limits and the pixel budget."""
    decoded = decode_within_budget(data, max_bytes=settings.max_image_bytes, max_side=settings.max_image_side)
    return models.Image(decoded.rgb, data, decoded.scale)


def encode_jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=quality)
    return out.getvalue()

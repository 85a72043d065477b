"""Turn uploaded bytes into an RGB pixel array, or refuse them with a clear reason."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from . import models
from .errors import InvalidImage, InvalidImageSize
from .settings import Settings

SUPPORTED_FORMATS = ("JPEG", "PNG", "BMP", "WEBP", "GIF")
MIN_SIDE = 36  # Azure's smallest accepted image side


def decode_image(data: bytes, *, max_bytes: int, max_side: int) -> np.ndarray:
    """Decode JPEG / PNG / BMP / WebP / GIF bytes to a contiguous H×W×3 uint8 RGB array.

    EXIF orientation is applied, so phone photos come out upright.
    """
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
    try:
        # Raises on truncated data as long as Pillow's ImageFile.LOAD_TRUNCATED_IMAGES keeps its
        # default (False); the face_recognition package turns it on when imported, so the service
        # never imports it (only the benchmark does, in its own process).
        image.load()
        rgb = ImageOps.exif_transpose(image).convert("RGB")
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidImage(f"The image is truncated or corrupt: {exc}.") from None
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def decode_upload(data: bytes, settings: Settings) -> models.Image:
    """Uploaded bytes as an `Image` (pixels and those bytes), within the settings' size limits."""
    return models.Image(decode_image(data, max_bytes=settings.max_image_bytes, max_side=settings.max_image_side), data)


def encode_jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=quality)
    return out.getvalue()

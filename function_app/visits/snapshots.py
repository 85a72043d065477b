"""A visit's snapshot: the face cut from its best frame with the head and some background around it, so
that a person can see who it was and an Unknown visitor's face can later be added to a person (detection
needs the margin)."""

from __future__ import annotations

from ..imaging import encode_jpeg
from ..models import FaceRectangle, Image

MARGIN = 0.6  # of the face's width, on every side


def snapshot_jpeg(image: Image, face: FaceRectangle) -> bytes:
    """The face and its margin, cut from the pixels the image was decoded to."""
    height, width = image.rgb.shape[:2]
    scale = image.scale
    pad = MARGIN * face.width
    left = max(0, int((face.left - pad) / scale))
    top = max(0, int((face.top - pad) / scale))
    right = min(width, int((face.left + face.width + pad) / scale) + 1)
    bottom = min(height, int((face.top + face.height + pad) / scale) + 1)
    return encode_jpeg(image.rgb[top:bottom, left:right])

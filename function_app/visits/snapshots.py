"""A visit's snapshot: the face cut from its best frame with the head and background around it, so that a
person can see who it was and an Unknown visitor's face can later be found again in it, to be added to a person
or searched among the other strangers. The detector needs that context: of the dev video's 63 faces, 36 were
found again in a crop with 0.6 of the face's width around it, 61 with 1.5. So wide a margin may show other
faces: the visitor's is the one at the centre (`snapshot_face`)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TypeVar

import cv2
from PIL import Image as PilImage

from ..errors import MultipleFaces
from ..imaging import encode_jpeg
from ..models import FaceRectangle, Image

MARGIN = 1.5  # of the face's width, on every side
MAX_SIDE = 480  # a near face's snapshot is scaled down to this: the face stays over 100 pixels wide
T = TypeVar("T")


def snapshot_jpeg(image: Image, face: FaceRectangle) -> bytes:
    """The face and its margin, cut from the pixels the image was decoded to; where the frame ends, black, so
    that the face is always at the centre."""
    rgb, scale = image.rgb, image.scale
    height, width = rgb.shape[:2]
    pad = MARGIN * face.width
    left, top = round((face.left - pad) / scale), round((face.top - pad) / scale)
    right, bottom = round((face.left + face.width + pad) / scale), round((face.top + face.height + pad) / scale)
    crop = rgb[max(0, top) : max(0, min(height, bottom)), max(0, left) : max(0, min(width, right))]
    outside = (max(0, -top), max(0, bottom - height), max(0, -left), max(0, right - width))
    crop = cv2.copyMakeBorder(crop, *outside, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    side = max(crop.shape[:2])
    if side > MAX_SIDE:
        crop = cv2.resize(crop, None, fx=MAX_SIDE / side, fy=MAX_SIDE / side, interpolation=cv2.INTER_AREA)
    return encode_jpeg(crop)


def snapshot_face(snapshot: bytes) -> FaceRectangle:
    """Where the visitor's face is in its snapshot: at the centre, MARGIN of its width on every side."""
    width, height = PilImage.open(io.BytesIO(snapshot)).size  # the header only
    face_width = width / (1 + 2 * MARGIN)
    pad = MARGIN * face_width
    return FaceRectangle(
        left=round(pad), top=round(pad), width=round(face_width), height=max(1, round(height - 2 * pad))
    )


def add_snapshot_face(add: Callable[[FaceRectangle | None], T], snapshot: bytes) -> T:
    """Add the visitor's face of a snapshot through `add` (an add-face call given its targetFace): the face
    alone in it, or the one at its centre when the margin shows others too."""
    try:
        return add(None)
    except MultipleFaces:
        return add(snapshot_face(snapshot))

"""Drawing on the frame: each face's box and labels, the rates and latency, and a banner while the
backend is unavailable.

A face the backend tracks keeps one box colour for its track's whole life (from the track id), so a
person stays the same colour while the name is settled; the name's label is green once the track is
named and red while it is Unknown, and the short visit id is drawn under the box. A backend without
tracking gets the boxes in those green and red."""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import cv2
import numpy as np

from .results import FaceRectangle, RecognizedFace
from .visits import short_visit_id

Colour = tuple[int, int, int]  # BGR
KNOWN: Colour = (60, 200, 60)
UNKNOWN: Colour = (40, 40, 230)
TEXT: Colour = (255, 255, 255)
DARK_TEXT: Colour = (0, 0, 0)
WARNING: Colour = (0, 0, 180)
# Track colours: far apart from each other, and none the red of Unknown labels or of the warning banner.
TRACK_COLOURS: tuple[Colour, ...] = (
    (230, 160, 40),
    (40, 200, 230),
    (200, 80, 200),
    (200, 200, 40),
    (40, 140, 255),
    (255, 120, 120),
    (120, 220, 120),
    (160, 60, 110),
)
FONT = cv2.FONT_HERSHEY_SIMPLEX
SCALE = 0.5


def face_label(face: RecognizedFace) -> str:
    return f"{face.name} {face.confidence:.2f}" if face.known else face.name


def box_colour(face: RecognizedFace) -> Colour:
    if face.track_id:
        return TRACK_COLOURS[zlib.crc32(face.track_id.encode()) % len(TRACK_COLOURS)]
    return KNOWN if face.known else UNKNOWN


def draw_faces(image: np.ndarray, faces: Iterable[RecognizedFace]) -> None:
    for face in faces:
        rect = face.rectangle
        colour = box_colour(face)
        cv2.rectangle(image, (rect.left, rect.top), (rect.left + rect.width, rect.top + rect.height), colour, 2)
        name_y, visit_y = label_baselines(face, image.shape[0])
        _label(image, face_label(face), rect, name_y, KNOWN if face.known else UNKNOWN)
        if face.visit_id:
            _label(image, short_visit_id(face.visit_id), rect, visit_y, colour)


def label_baselines(face: RecognizedFace, image_height: int) -> tuple[int, int]:
    """Where the texts sit: the name above the box (under it when there is no room above), the visit id
    under the box and the name, kept inside the picture."""
    rect = face.rectangle
    (_, height), baseline = cv2.getTextSize(face_label(face), FONT, SCALE, 1)
    line = height + baseline + 4
    under = rect.top + rect.height + height + 4
    if rect.top - line > 0:
        return rect.top - 4, min(under, image_height - baseline - 1)
    return under, min(under + line, image_height - baseline - 1)


def label_box(text: str, left: int, y: int) -> tuple[int, int, int, int]:
    """The filled box behind `text` written from `left` on the baseline `y`: left, top, right, bottom."""
    (width, height), baseline = cv2.getTextSize(text, FONT, SCALE, 1)
    return left - 1, y - height - 3, left + width + 3, y + baseline - 1


def _label(image: np.ndarray, text: str, rect: FaceRectangle, y: int, background: Colour) -> None:
    left, top, right, bottom = label_box(text, rect.left, y)
    cv2.rectangle(image, (left, top), (right, bottom), background, -1)
    ink = DARK_TEXT if sum(background) > 450 else TEXT  # white on the dark colours, black on the light ones
    cv2.putText(image, text, (rect.left + 1, y - 1), FONT, SCALE, ink, 1, cv2.LINE_AA)


def draw_status(image: np.ndarray, text: str, warning: str | None = None) -> None:
    """`text` in the top-left corner; `warning` as a red banner along the bottom."""
    _text_box(image, text, (6, 6), (0, 0, 0))
    if warning:
        (_, height), baseline = cv2.getTextSize(warning, FONT, 0.5, 1)
        _text_box(image, warning, (6, image.shape[0] - height - baseline - 12), WARNING)


def _text_box(image: np.ndarray, text: str, origin: tuple[int, int], background: tuple[int, int, int]) -> None:
    (width, height), baseline = cv2.getTextSize(text, FONT, 0.5, 1)
    x, y = origin
    cv2.rectangle(image, (x, y), (x + width + 8, y + height + baseline + 6), background, -1)
    cv2.putText(image, text, (x + 4, y + height + 3), FONT, 0.5, TEXT, 1, cv2.LINE_AA)

"""Drawing on the frame: each face's box and label (known people green, unknown faces red), the
rates and latency, and a banner while the backend is unavailable."""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from .results import RecognizedFace

KNOWN = (60, 200, 60)  # BGR
UNKNOWN = (40, 40, 230)
TEXT = (255, 255, 255)
WARNING = (0, 0, 180)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def face_label(face: RecognizedFace) -> str:
    return f"{face.name} {face.confidence:.2f}" if face.known else face.name


def draw_faces(image: np.ndarray, faces: Iterable[RecognizedFace]) -> None:
    for face in faces:
        rect = face.rectangle
        colour = KNOWN if face.known else UNKNOWN
        top_left, bottom_right = (rect.left, rect.top), (rect.left + rect.width, rect.top + rect.height)
        cv2.rectangle(image, top_left, bottom_right, colour, 2)
        label = face_label(face)
        (width, height), baseline = cv2.getTextSize(label, FONT, 0.5, 1)
        y = rect.top - 4 if rect.top - height - baseline - 4 > 0 else rect.top + rect.height + height + 4
        cv2.rectangle(image, (rect.left - 1, y - height - 3), (rect.left + width + 3, y + baseline - 1), colour, -1)
        cv2.putText(image, label, (rect.left + 1, y - 1), FONT, 0.5, TEXT, 1, cv2.LINE_AA)


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

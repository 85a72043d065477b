"""The local engine run on a decoded image, its faces answered where they lie in the original photo
(a big photo may have been decoded reduced: imaging.py)."""

from __future__ import annotations

from ...engines import FaceEngine
from ...models import DetectedFace, Image


def detect_faces(engine: FaceEngine, image: Image, *, embeddings: bool = True) -> list[DetectedFace]:
    return [face.scaled(image.scale) for face in engine.detect(image.rgb, embeddings=embeddings)]

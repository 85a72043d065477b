"""The one interface every face engine offers."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ..models import DetectedFace


class FaceEngine(Protocol):
    name: str
    embedding_size: int

    def detect(self, rgb: np.ndarray, *, embeddings: bool = True) -> list[DetectedFace]:
        """Faces in an H×W×3 uint8 RGB image, largest first; each with an L2-normalised embedding
        when `embeddings` is true. Safe to call from several threads."""
        ...

    def embed(self, rgb: np.ndarray, faces: list[DetectedFace]) -> list[np.ndarray]:
        """Embeddings of faces that `detect(rgb, embeddings=False)` answered (a video frame's faces whose
        track needs a new one): the same vectors `detect` would have computed."""
        ...

"""Detect and identify the faces of one image against a trained group: the frame pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .faces import FaceRectangle
from .gallery import Gallery
from .identify import Candidate, identify_embeddings
from .imaging import decode_image
from .training import load_trained_index

UNKNOWN = "Unknown"


@dataclass(frozen=True)
class IdentifiedFace:
    rectangle: FaceRectangle
    quality_for_recognition: str | None
    candidates: list[Candidate]

    @property
    def name(self) -> str:
        return self.candidates[0].name if self.candidates else UNKNOWN

    @property
    def person_id(self) -> str | None:
        return self.candidates[0].person_id if self.candidates else None

    @property
    def confidence(self) -> float:
        return self.candidates[0].confidence if self.candidates else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "faceRectangle": self.rectangle.to_dict(),
            "personId": self.person_id,
            "name": self.name,
            "confidence": round(self.confidence, 5),
            "qualityForRecognition": self.quality_for_recognition,
            "candidates": [c.to_dict() for c in self.candidates],
        }


class Recognizer:
    def __init__(self, gallery: Gallery):
        self.gallery = gallery
        self.settings = gallery.settings

    def decode(self, image: bytes) -> np.ndarray:
        return decode_image(image, max_bytes=self.settings.max_image_bytes, max_side=self.settings.max_image_side)

    def identify_image(
        self,
        group_id: str,
        image: bytes | np.ndarray,
        *,
        max_candidates: int = 1,
        confidence_threshold: float | None = None,
    ) -> list[IdentifiedFace]:
        """Every face of the image, largest first, each with its own candidates."""
        index = load_trained_index(self.gallery, group_id)
        rgb = self.decode(image) if isinstance(image, bytes) else image
        faces = self.gallery.engine.detect(rgb)
        if not faces:
            return []
        candidates = identify_embeddings(
            index,
            np.stack([f.embedding for f in faces]),
            match_threshold=self.settings.match_threshold,
            max_candidates=max_candidates,
            confidence_threshold=confidence_threshold,
        )
        return [
            IdentifiedFace(face.rectangle, face.quality.quality_for_recognition, found)
            for face, found in zip(faces, candidates, strict=True)
        ]

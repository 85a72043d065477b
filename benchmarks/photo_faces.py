"""The labelled face of a test photo (LFW photos may show other people at the edges: the labelled one is the
face nearest the centre), with both networks' embeddings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from function_app.engines.base import FaceEngine
from function_app.engines.faceres import FaceresEmbedder, face_crops
from function_app.imaging import decode_image
from function_app.models import DetectedFace


def central_face(faces: list[DetectedFace], rgb: np.ndarray) -> DetectedFace | None:
    cy, cx = rgb.shape[0] / 2, rgb.shape[1] / 2

    def off_centre(face: DetectedFace) -> float:
        r = face.rectangle
        return (r.left + r.width / 2 - cx) ** 2 + (r.top + r.height / 2 - cy) ** 2

    return min(faces, key=off_centre) if faces else None


def read_photo(path: Path) -> np.ndarray:
    return decode_image(path.read_bytes(), max_bytes=1 << 30, max_side=8192)


@dataclass(frozen=True)
class PhotoFace:
    """A photo's labelled face: dlib's embedding, faceres's raw features and its crop."""

    dlib: np.ndarray
    faceres_features: np.ndarray
    crop: np.ndarray  # 224×224×3 uint8 RGB, faceres's input


def photo_face(engine: FaceEngine, faceres: FaceresEmbedder, path: Path) -> PhotoFace | None:
    rgb = read_photo(path)
    face = central_face(engine.detect(rgb), rgb)
    if face is None:
        return None
    crop = face_crops(rgb, [face.rectangle])
    return PhotoFace(face.required_embedding(), faceres.features(crop)[0], crop[0])

"""The Face API answered on this machine: the gallery in the app's storage, a local engine for
detection and embeddings, and training to an index through the `train-requests` queue."""

from __future__ import annotations

from typing import Any

import numpy as np

from .engines import FaceEngine
from .face_api import DetectOptions, FaceApi
from .gallery import Gallery
from .recognition import IdentifiedFace, Recognizer
from .settings import Settings
from .storage import Storage
from .training import TrainingStatus, get_training_status, train_group
from .work_queues import request_training


class LocalFaceService(Gallery):
    def __init__(self, storage: Storage, engine: FaceEngine, settings: Settings):
        super().__init__(storage, engine, settings)
        self._face_api = FaceApi(self)
        self._recognizer = Recognizer(self)

    def request_training(self, group_id: str) -> TrainingStatus:
        return request_training(self, group_id)

    def train(self, group_id: str) -> TrainingStatus:
        return train_group(self, group_id)

    def training_status(self, group_id: str) -> TrainingStatus:
        return get_training_status(self, group_id)

    def detect(self, image: bytes, options: DetectOptions) -> list[dict[str, Any]]:
        return self._face_api.detect(image, options)

    def identify(
        self, group_id: str, face_ids: list[str], *, max_candidates: int = 10, confidence_threshold: float | None = None
    ) -> list[dict[str, Any]]:
        return self._face_api.identify(
            group_id, face_ids, max_candidates=max_candidates, confidence_threshold=confidence_threshold
        )

    def verify_faces(self, face_id1: str, face_id2: str) -> dict[str, Any]:
        return self._face_api.verify_faces(face_id1, face_id2)

    def verify_person(self, face_id: str, group_id: str, person_id: str) -> dict[str, Any]:
        return self._face_api.verify_person(face_id, group_id, person_id)

    def identify_image(
        self,
        group_id: str,
        image: bytes,
        *,
        rgb: np.ndarray | None = None,
        max_candidates: int = 1,
        confidence_threshold: float | None = None,
    ) -> list[IdentifiedFace]:
        return self._recognizer.identify_image(
            group_id,
            image if rgb is None else rgb,
            max_candidates=max_candidates,
            confidence_threshold=confidence_threshold,
        )

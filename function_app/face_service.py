"""The Face API as the rest of the app sees it, whichever engine answers it.

Two implementations: `LocalFaceService` (the gallery in this app's storage and a local engine,
local_face_service.py) and `AzureFaceService` (the Azure Face API's person groups, through its SDK,
azure_face_service.py). The HTTP functions, the queue functions, enrollment and the command line
call only this interface; sightings and enrollment jobs stay in the app's own storage either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np

from .face_api import DetectOptions
from .faces import FaceRectangle
from .gallery import FaceEntry, Person, PersonGroup
from .recognition import IdentifiedFace
from .settings import Settings
from .training import TrainingStatus


class FaceService(Protocol):
    settings: Settings

    # person groups
    def create_group(
        self, group_id: str, name: str, user_data: str | None = None, recognition_model: str | None = None
    ) -> PersonGroup: ...
    def get_group(self, group_id: str) -> PersonGroup: ...
    def update_group(self, group_id: str, name: str | None = None, user_data: str | None = None) -> PersonGroup: ...
    def delete_group(self, group_id: str) -> None: ...
    def list_groups(self, start: str | None = None, top: int = 1000) -> list[PersonGroup]: ...

    # persons and their faces
    def create_person(self, group_id: str, name: str, user_data: str | None = None) -> Person: ...
    def get_person(self, group_id: str, person_id: str) -> Person: ...
    def update_person(
        self, group_id: str, person_id: str, name: str | None = None, user_data: str | None = None
    ) -> Person: ...
    def delete_person(self, group_id: str, person_id: str) -> None: ...
    def list_persons(self, group_id: str, start: str | None = None, top: int = 1000) -> list[Person]: ...
    def add_face(
        self,
        group_id: str,
        person_id: str,
        image: bytes,
        *,
        target_face: FaceRectangle | None = None,
        user_data: str | None = None,
    ) -> FaceEntry: ...
    def get_face(self, group_id: str, person_id: str, face_id: str) -> FaceEntry: ...
    def delete_face(self, group_id: str, person_id: str, face_id: str) -> None: ...
    def iter_faces(self, group_id: str, person_id: str | None = None) -> Iterator[FaceEntry]: ...

    # training
    def request_training(self, group_id: str) -> TrainingStatus:
        """Start a training and answer at once (the status is then `running`)."""
        ...

    def train(self, group_id: str) -> TrainingStatus:
        """Train and wait: the final status, `succeeded` or `failed`."""
        ...

    def training_status(self, group_id: str) -> TrainingStatus: ...

    # operations on images and face ids, answered in the Face API's JSON
    def detect(self, image: bytes, options: DetectOptions) -> list[dict[str, Any]]: ...
    def identify(
        self, group_id: str, face_ids: list[str], *, max_candidates: int = 10, confidence_threshold: float | None = None
    ) -> list[dict[str, Any]]: ...
    def verify_faces(self, face_id1: str, face_id2: str) -> dict[str, Any]: ...
    def verify_person(self, face_id: str, group_id: str, person_id: str) -> dict[str, Any]: ...

    # the frame pipeline
    def identify_image(
        self,
        group_id: str,
        image: bytes,
        *,
        rgb: np.ndarray | None = None,
        max_candidates: int = 1,
        confidence_threshold: float | None = None,
    ) -> list[IdentifiedFace]:
        """Every face of the image (encoded bytes; `rgb`: its pixels, when the caller decoded them
        already), largest first, each with its candidates and their names."""
        ...

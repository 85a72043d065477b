"""The Face API contract: what the rest of the app calls, whichever backend answers it.

Two backends: `faceapi.local` (the gallery in this app's storage and a local engine) and
`faceapi.azure` (the Azure Face API's person groups, through its SDK). The HTTP functions, the queue
functions, the features (frames, enrollment) and the command line call only this interface.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Protocol

from ..errors import BadArgument
from ..models import (
    DetectOptions,
    FaceRectangle,
    Image,
    PersistedFace,
    Person,
    PersonGroup,
    RecognizedFace,
    TrainingStatus,
)

# The Face API's limits and model names, as Azure documents them.
DETECTION_MODELS = ("detection_01", "detection_02", "detection_03")
RECOGNITION_MODELS = ("recognition_01", "recognition_02", "recognition_03", "recognition_04")
MAX_IDENTIFY_FACES = 10
MAX_CANDIDATES = 100
PAGE_SIZE = 1000  # the most persons or groups a list answers
GROUP_ID_PATTERN = re.compile(r"^[a-z0-9_-]{1,64}$")


def check_group_id(group_id: str) -> None:
    if not isinstance(group_id, str) or not GROUP_ID_PATTERN.fullmatch(group_id):
        raise BadArgument(f"Invalid personGroupId {group_id!r}: use 1 to 64 lowercase letters, digits, '-' or '_'.")


class FaceApi(Protocol):
    # person groups
    def create_group(
        self, group_id: str, name: str, user_data: str | None = None, recognition_model: str | None = None
    ) -> PersonGroup: ...
    def get_group(self, group_id: str) -> PersonGroup: ...
    def update_group(self, group_id: str, name: str | None = None, user_data: str | None = None) -> PersonGroup: ...
    def delete_group(self, group_id: str) -> None: ...
    def list_groups(self, start: str | None = None, top: int = PAGE_SIZE) -> list[PersonGroup]: ...

    # persons and their faces
    def create_person(self, group_id: str, name: str, user_data: str | None = None) -> Person: ...
    def get_person(self, group_id: str, person_id: str) -> Person: ...
    def update_person(
        self, group_id: str, person_id: str, name: str | None = None, user_data: str | None = None
    ) -> Person: ...
    def delete_person(self, group_id: str, person_id: str) -> None: ...
    def list_persons(self, group_id: str, start: str | None = None, top: int = PAGE_SIZE) -> list[Person]: ...
    def add_face(
        self,
        group_id: str,
        person_id: str,
        image: bytes,
        *,
        target_face: FaceRectangle | None = None,
        user_data: str | None = None,
    ) -> PersistedFace: ...
    def get_face(self, group_id: str, person_id: str, face_id: str) -> PersistedFace: ...
    def delete_face(self, group_id: str, person_id: str, face_id: str) -> None: ...
    def iter_faces(self, group_id: str, person_id: str | None = None) -> Iterator[PersistedFace]: ...

    # training
    def request_training(self, group_id: str) -> TrainingStatus:
        """Start a training and answer at once (the status is then `running`)."""
        ...

    def train(self, group_id: str) -> TrainingStatus:
        """Train and wait: the final status, `succeeded` or `failed`."""
        ...

    def training_status(self, group_id: str) -> TrainingStatus: ...

    def mark_training_failed(self, group_id: str, reason: str) -> TrainingStatus:
        """Record that a queued training will never finish (its message was given up on), with the reason."""
        ...

    # operations on images and face ids, answered in the Face API's JSON
    def detect(self, image: bytes, options: DetectOptions) -> list[dict[str, Any]]: ...
    def identify(
        self, group_id: str, face_ids: list[str], *, max_candidates: int = 10, confidence_threshold: float | None = None
    ) -> list[dict[str, Any]]: ...
    def verify_faces(self, face_id1: str, face_id2: str) -> dict[str, Any]: ...
    def verify_person(self, face_id: str, group_id: str, person_id: str) -> dict[str, Any]: ...

    # what the product adds: one image to named faces in one call
    def recognize(
        self, group_id: str, image: Image, *, max_candidates: int = 1, confidence_threshold: float | None = None
    ) -> list[RecognizedFace]:
        """Every face of the image, largest first, each with its candidates and their names."""
        ...

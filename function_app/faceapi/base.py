"""The Face API contract: what the rest of the app calls, whichever backend answers it.

Two backends: `faceapi.local` (the gallery in this app's storage and a local engine) and
`faceapi.azure` (the Azure Face API's person groups, through its SDK). The HTTP functions, the queue
functions, the features (frames, enrollment) and the command line call only this interface.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np

from ..errors import BadArgument
from ..models import (
    DetectOptions,
    FaceRectangle,
    FrameFace,
    Image,
    PersistedFace,
    Person,
    PersonGroup,
    RecognizedFace,
    TrainingStatus,
)
from .face_lists import FaceListApi
from .group_kinds import PERSON_GROUP, GroupKind

# The Face API's limits and model names, as Azure documents them.
DETECTION_MODELS = ("detection_01", "detection_02", "detection_03")
RECOGNITION_MODELS = ("recognition_01", "recognition_02", "recognition_03", "recognition_04")
MAX_IDENTIFY_FACES = 10
MAX_CANDIDATES = 100
PAGE_SIZE = 1000  # the most persons or groups a list answers
GROUP_ID_PATTERN = re.compile(r"^[a-z0-9_-]{1,64}$")


def check_group_id(group_id: str, id_name: str = "personGroupId") -> None:
    if not isinstance(group_id, str) or not GROUP_ID_PATTERN.fullmatch(group_id):
        raise BadArgument(f"Invalid {id_name} {group_id!r}: use 1 to 64 lowercase letters, digits, '-' or '_'.")


class FaceApi(FaceListApi, Protocol):
    """Every group operation takes the kind of group (group_kinds.py): person groups by default.
    Face lists, find-similar and group are FaceListApi's (face_lists.py)."""

    # person groups
    def create_group(
        self,
        group_id: str,
        name: str,
        user_data: str | None = None,
        recognition_model: str | None = None,
        *,
        kind: GroupKind = PERSON_GROUP,
    ) -> PersonGroup: ...
    def get_group(self, group_id: str, *, kind: GroupKind = PERSON_GROUP) -> PersonGroup: ...
    def update_group(
        self, group_id: str, name: str | None = None, user_data: str | None = None, *, kind: GroupKind = PERSON_GROUP
    ) -> PersonGroup: ...
    def delete_group(self, group_id: str, *, kind: GroupKind = PERSON_GROUP) -> None:
        """Refused while the group trains (PersonGroupTrainingNotFinished, 409), as Azure does."""
        ...

    def list_groups(
        self, start: str | None = None, top: int = PAGE_SIZE, *, kind: GroupKind = PERSON_GROUP
    ) -> list[PersonGroup]: ...

    # persons and their faces
    def create_person(
        self, group_id: str, name: str, user_data: str | None = None, *, kind: GroupKind = PERSON_GROUP
    ) -> Person: ...
    def get_person(self, group_id: str, person_id: str, *, kind: GroupKind = PERSON_GROUP) -> Person: ...
    def update_person(
        self,
        group_id: str,
        person_id: str,
        name: str | None = None,
        user_data: str | None = None,
        *,
        kind: GroupKind = PERSON_GROUP,
    ) -> Person: ...
    def delete_person(self, group_id: str, person_id: str, *, kind: GroupKind = PERSON_GROUP) -> None: ...
    def list_persons(
        self, group_id: str, start: str | None = None, top: int = PAGE_SIZE, *, kind: GroupKind = PERSON_GROUP
    ) -> list[Person]: ...
    def add_face(
        self,
        group_id: str,
        person_id: str,
        image: bytes,
        *,
        target_face: FaceRectangle | None = None,
        user_data: str | None = None,
        kind: GroupKind = PERSON_GROUP,
    ) -> PersistedFace: ...
    def get_face(
        self, group_id: str, person_id: str, face_id: str, *, kind: GroupKind = PERSON_GROUP
    ) -> PersistedFace: ...
    def update_face(
        self, group_id: str, person_id: str, face_id: str, user_data: str | None, *, kind: GroupKind = PERSON_GROUP
    ) -> PersistedFace: ...
    def delete_face(self, group_id: str, person_id: str, face_id: str, *, kind: GroupKind = PERSON_GROUP) -> None: ...
    def iter_faces(
        self, group_id: str, person_id: str | None = None, *, kind: GroupKind = PERSON_GROUP
    ) -> Iterator[PersistedFace]: ...
    def face_photo(self, group_id: str, person_id: str, face_id: str, *, kind: GroupKind = PERSON_GROUP) -> bytes:
        """The photo a persisted face was enrolled from, as uploaded: the product's, not Azure's (which keeps
        none: that backend raises PhotoNotKept)."""
        ...

    # training
    def request_training(self, group_id: str, *, kind: GroupKind = PERSON_GROUP) -> TrainingStatus:
        """Start a training and answer at once (the status is then `running`)."""
        ...

    def train(self, group_id: str, *, kind: GroupKind = PERSON_GROUP) -> TrainingStatus:
        """Train and wait: the final status, `succeeded` or `failed`."""
        ...

    def training_status(self, group_id: str, *, kind: GroupKind = PERSON_GROUP) -> TrainingStatus:
        """A group never trained answers 404 PersonGroupNotTrained, as Azure does."""
        ...

    def mark_training_failed(self, group_id: str, reason: str, *, kind: GroupKind = PERSON_GROUP) -> TrainingStatus:
        """Record that a queued training will never finish (its message was given up on), with the reason."""
        ...

    # operations on images and face ids, answered in the Face API's JSON
    def detect(self, image: bytes, options: DetectOptions) -> list[dict[str, Any]]: ...
    def identify(
        self,
        group_id: str,
        face_ids: list[str],
        *,
        max_candidates: int = 10,
        confidence_threshold: float | None = None,
        kind: GroupKind = PERSON_GROUP,
    ) -> list[dict[str, Any]]:
        """Azure's answers: an unknown group or faceId is 400 here (PersonGroupNotFound, FaceNotFound)."""
        ...

    def verify_faces(self, face_id1: str, face_id2: str) -> dict[str, Any]: ...
    def verify_person(
        self, face_id: str, group_id: str, person_id: str, *, kind: GroupKind = PERSON_GROUP
    ) -> dict[str, Any]: ...

    # what the product adds: an image's faces found, then only those that need it identified (video)
    def find_faces(self, image: Image) -> list[FrameFace]:
        """Every face of the image, largest first, not yet identified."""
        ...

    def identify_faces(
        self,
        group_id: str,
        image: Image,
        faces: list[FrameFace],
        *,
        max_candidates: int = 1,
        confidence_threshold: float | None = None,
    ) -> list[RecognizedFace]:
        """Candidates of faces `find_faces` answered for this image, with their names."""
        ...

    def naming_cut_off(self, group_id: str) -> float:
        """The confidence from which `identify_faces` names a candidate when asked for no threshold."""
        ...

    def face_confidences(self, queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """(queries, rows): how likely two embeddings of `identify_faces` are the same person (0.5: as
        likely as not). Only for backends that answer embeddings."""
        ...


def recognize(
    face_api: FaceApi,
    group_id: str,
    image: Image,
    *,
    max_candidates: int = 1,
    confidence_threshold: float | None = None,
) -> list[RecognizedFace]:
    """Every face of the image, largest first, each with its candidates and their names: a still image's
    `find_faces` and `identify_faces` in one."""
    faces = face_api.find_faces(image)
    return face_api.identify_faces(
        group_id, image, faces, max_candidates=max_candidates, confidence_threshold=confidence_threshold
    )


def all_persons(face_api: FaceApi, group_id: str, *, kind: GroupKind = PERSON_GROUP) -> Iterator[Person]:
    """Every person of a group, a page at a time: list_persons answers at most PAGE_SIZE."""
    start = None
    while True:
        page = face_api.list_persons(group_id, start, PAGE_SIZE, kind=kind)
        yield from page
        if len(page) < PAGE_SIZE:
            return
        start = page[-1].person_id

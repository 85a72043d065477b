"""Face lists and large face lists (faces without persons, searched by find-similar), and the two
operations that compare detected faces with faces rather than persons: find-similar and group.
Part of the FaceApi contract (base.py), answered by both backends."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from ..errors import (
    BadArgument,
    Conflict,
    FaceListExists,
    FaceListNotFound,
    LargeFaceListExists,
    LargeFaceListNotFound,
    NotFound,
)
from ..models import FaceRectangle, PersistedFace, TrainingStatus

LIST_ID_PATTERN = re.compile(r"[a-z0-9_-]{1,64}")
MAX_SIMILAR_CANDIDATES = 1000  # maxNumOfCandidatesReturned's range is 1..1000, 20 by default
DEFAULT_SIMILAR_CANDIDATES = 20
MAX_COMPARED_FACES = 1000  # faceIds of find-similar and group


class ListKind(Enum):
    """The two kinds of face list; the value is their route segment. A face list holds up to 1,000
    faces and is searched as it is; a large face list is searched as of its last training.
    Its attributes are named as GroupKind's (group_kinds.py), which is a separate type because the
    two kinds of collection have different operations (no persons here, no training of a face list)."""

    FACE_LIST = "facelists"
    LARGE_FACE_LIST = "largefacelists"

    @property
    def route(self) -> str:
        return self.value

    @property
    def id_name(self) -> str:
        return "faceListId" if self is ListKind.FACE_LIST else "largeFaceListId"

    @property
    def label(self) -> str:
        return "Face list" if self is ListKind.FACE_LIST else "Large face list"

    @property
    def snake(self) -> str:
        """In the names of its functions: create_face_list, create_large_face_list."""
        return "face_list" if self is ListKind.FACE_LIST else "large_face_list"

    @property
    def not_found(self) -> type[NotFound]:
        return FaceListNotFound if self is ListKind.FACE_LIST else LargeFaceListNotFound

    @property
    def exists(self) -> type[Conflict]:
        return FaceListExists if self is ListKind.FACE_LIST else LargeFaceListExists

    def check_id(self, list_id: str) -> None:
        if not isinstance(list_id, str) or not LIST_ID_PATTERN.fullmatch(list_id):
            raise BadArgument(f"Invalid {self.id_name} {list_id!r}: use 1 to 64 lowercase letters, digits, '-' or '_'.")


class MatchMode(Enum):
    """matchPerson: only faces of the same person as far as the match threshold says; matchFace: the most
    similar faces whatever their similarity."""

    MATCH_PERSON = "matchPerson"
    MATCH_FACE = "matchFace"


@dataclass(frozen=True)
class FaceList:
    kind: ListKind
    list_id: str
    name: str
    user_data: str | None
    recognition_model: str
    persisted_faces: tuple[PersistedFace, ...] | None = None  # a face list's get answers its faces

    def to_dict(self, *, with_recognition_model: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {self.kind.id_name: self.list_id, "name": self.name, "userData": self.user_data}
        if with_recognition_model:
            data["recognitionModel"] = self.recognition_model
        if self.persisted_faces is not None:
            data["persistedFaces"] = [f.to_dict() for f in self.persisted_faces]
        return data


@dataclass(frozen=True)
class SimilarCandidates:
    """What find-similar searches: exactly one of a face list, a large face list or detected faces."""

    face_list_id: str | None = None
    large_face_list_id: str | None = None
    face_ids: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        given = [x for x in (self.face_list_id, self.large_face_list_id, self.face_ids) if x is not None]
        if len(given) != 1:
            raise BadArgument("Give exactly one of faceListId, largeFaceListId and faceIds.")
        if self.face_ids is not None:
            check_face_ids(list(self.face_ids), "faceIds", minimum=1)


@dataclass(frozen=True)
class SimilarFace:
    """A candidate of find-similar: a persisted face of a (large) face list, or a detected face."""

    confidence: float
    persisted_face_id: str | None = None
    face_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        key, value = ("faceId", self.face_id) if self.face_id else ("persistedFaceId", self.persisted_face_id)
        return {key: value, "confidence": round(self.confidence, 5)}


@dataclass(frozen=True)
class FaceGroups:
    """Group's answer: groups of similar faces, largest first, and the faces similar to none."""

    groups: tuple[tuple[str, ...], ...]
    messy_group: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"groups": [list(g) for g in self.groups], "messyGroup": list(self.messy_group)}


def check_max_candidates(max_candidates: int) -> int:
    if not 1 <= max_candidates <= MAX_SIMILAR_CANDIDATES:
        raise BadArgument(f"maxNumOfCandidatesReturned must be between 1 and {MAX_SIMILAR_CANDIDATES}.")
    return max_candidates


def check_face_ids(face_ids: Any, name: str, *, minimum: int) -> list[str]:
    if not isinstance(face_ids, list) or not all(isinstance(f, str) for f in face_ids):
        raise BadArgument(f"'{name}' must be a list of face ids from detect.")
    if not minimum <= len(face_ids) <= MAX_COMPARED_FACES:
        raise BadArgument(f"'{name}' holds {len(face_ids)} ids; give {minimum} to {MAX_COMPARED_FACES}.")
    return face_ids


class FaceListApi(Protocol):
    def create_face_list(
        self,
        kind: ListKind,
        list_id: str,
        name: str,
        user_data: str | None = None,
        recognition_model: str | None = None,
    ) -> FaceList: ...
    def get_face_list(self, kind: ListKind, list_id: str) -> FaceList: ...
    def update_face_list(
        self, kind: ListKind, list_id: str, name: str | None = None, user_data: str | None = None
    ) -> None: ...
    def delete_face_list(self, kind: ListKind, list_id: str) -> None: ...
    def list_face_lists(self, kind: ListKind, start: str | None = None, top: int = 1000) -> list[FaceList]: ...
    def add_list_face(
        self,
        kind: ListKind,
        list_id: str,
        image: bytes,
        *,
        target_face: FaceRectangle | None = None,
        user_data: str | None = None,
    ) -> PersistedFace: ...
    def get_list_face(self, kind: ListKind, list_id: str, face_id: str) -> PersistedFace: ...
    def update_list_face(self, kind: ListKind, list_id: str, face_id: str, user_data: str | None) -> None: ...
    def delete_list_face(self, kind: ListKind, list_id: str, face_id: str) -> None: ...
    def list_list_faces(
        self, kind: ListKind, list_id: str, start: str | None = None, top: int = 1000
    ) -> list[PersistedFace]: ...

    # large face lists only: find-similar searches the last successful training
    def request_list_training(self, list_id: str) -> TrainingStatus:
        """Start a training and answer at once (the status is then `running`)."""
        ...

    def train_list(self, list_id: str) -> TrainingStatus:
        """Train and wait: the final status, `succeeded` or `failed`."""
        ...

    def list_training_status(self, list_id: str) -> TrainingStatus: ...
    def mark_list_training_failed(self, list_id: str, reason: str) -> TrainingStatus:
        """Record that a queued training will never finish (its message was given up on), with the reason."""
        ...

    def find_similar(
        self,
        face_id: str,
        candidates: SimilarCandidates,
        *,
        max_candidates: int = DEFAULT_SIMILAR_CANDIDATES,
        mode: MatchMode = MatchMode.MATCH_PERSON,
    ) -> list[SimilarFace]: ...
    def group_faces(self, face_ids: list[str]) -> FaceGroups: ...

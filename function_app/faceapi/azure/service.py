"""The Face API answered by the Azure Face API (FACE_ENGINE=azure): this app's groups (person groups
and large person groups), persons, faces, training, detect, identify and verify are the service's own
and its calls, made with its v1.0 SDK (`azure-cognitiveservices-vision-face`, which has both kinds of
group; the maintained `azure-ai-vision-face` has large person groups only). Answers are passed on as
the service's JSON, and its errors with their codes. Identification and verification need Limited
Access approval on Azure.

Because this app speaks the same API, AZURE_FACE_ENDPOINT may also be another instance of it.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from azure.core.credentials import TokenCredential
from msrest.pipeline import ClientRawResponse

from ...entra import entra_credential
from ...errors import PhotoNotKept
from ...imaging import encode_jpeg
from ...models import (
    Candidate,
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
from ...settings import Settings
from ..base import MAX_IDENTIFY_FACES, PAGE_SIZE, all_persons
from ..group_kinds import LARGE_PERSON_GROUP, PERSON_GROUP, GroupKind
from .client import call, create_face_client, target_face_param
from .face_lists import AzureFaceListApi

# Person names change rarely; identify answers ids only, so names are looked up and kept a while.
NAMES_TTL_SECONDS = 60.0
TRAINING_POLL_SECONDS = 1.0
TRAINING_TIMEOUT_SECONDS = 600.0
# Face ids of the frame path are used at once; the service's minimum lifetime.
FRAME_FACE_ID_TTL = 60
AZURE_NAMING_CUT_OFF = 0.5


class AzureFaceApi(AzureFaceListApi):
    def __init__(
        self,
        settings: Settings,
        *,
        credential: TokenCredential | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        """Without AZURE_FACE_KEY it signs in with `credential`, by default the app's identity
        (AZURE_CLIENT_ID's managed identity, or DefaultAzureCredential)."""
        self.settings = settings
        self.endpoint = settings.azure_face_endpoint.rstrip("/")
        if not settings.azure_face_key and credential is None and self.endpoint:
            credential = entra_credential(settings.managed_identity_client_id)
        self._client = create_face_client(self.endpoint, settings.azure_face_key, credential)
        self._sleep = sleep
        self._names: dict[str, tuple[float, dict[str, str]]] = {}
        self._names_lock = threading.Lock()

    def _json(self, operation: Callable[[], ClientRawResponse]) -> Any:
        response = call(operation, self.endpoint, sleep=self._sleep).response
        return response.json() if response.content else None

    # -- the SDK's operations for a kind of group ----------------------------------------------
    def _groups(self, kind: GroupKind) -> Any:
        return self._client.large_person_group if kind == LARGE_PERSON_GROUP else self._client.person_group

    def _persons(self, kind: GroupKind) -> Any:
        client = self._client
        return client.large_person_group_person if kind == LARGE_PERSON_GROUP else client.person_group_person

    @staticmethod
    def _group(data: dict[str, Any], kind: GroupKind) -> PersonGroup:
        return PersonGroup.from_dict({**data, "personGroupId": data[kind.id_name]})

    # -- groups --------------------------------------------------------------------------------
    def create_group(
        self,
        group_id: str,
        name: str,
        user_data: str | None = None,
        recognition_model: str | None = None,
        *,
        kind: GroupKind = PERSON_GROUP,
    ) -> PersonGroup:
        model = recognition_model or self.settings.azure_face_recognition_model
        groups = self._groups(kind)
        self._json(lambda: groups.create(group_id, name, user_data, recognition_model=model, raw=True))
        return PersonGroup(group_id, name, user_data, recognition_model=model)

    def get_group(self, group_id: str, *, kind: GroupKind = PERSON_GROUP) -> PersonGroup:
        groups = self._groups(kind)
        return self._group(self._json(lambda: groups.get(group_id, return_recognition_model=True, raw=True)), kind)

    def update_group(
        self, group_id: str, name: str | None = None, user_data: str | None = None, *, kind: GroupKind = PERSON_GROUP
    ) -> PersonGroup:
        groups = self._groups(kind)
        self._json(lambda: groups.update(group_id, name or None, user_data, raw=True))
        return self.get_group(group_id, kind=kind)

    def delete_group(self, group_id: str, *, kind: GroupKind = PERSON_GROUP) -> None:
        groups = self._groups(kind)
        self._json(lambda: groups.delete(group_id, raw=True))
        with self._names_lock:
            self._names.pop(group_id, None)

    def list_groups(
        self, start: str | None = None, top: int = PAGE_SIZE, *, kind: GroupKind = PERSON_GROUP
    ) -> list[PersonGroup]:
        groups = self._groups(kind)
        found = self._json(lambda: groups.list(start, top, return_recognition_model=True, raw=True))
        return [self._group(g, kind) for g in found]

    # -- persons and their faces ---------------------------------------------------------------
    def create_person(
        self, group_id: str, name: str, user_data: str | None = None, *, kind: GroupKind = PERSON_GROUP
    ) -> Person:
        persons = self._persons(kind)
        created = self._json(lambda: persons.create(group_id, name, user_data, raw=True))
        return Person(created["personId"], name, user_data)

    def get_person(self, group_id: str, person_id: str, *, kind: GroupKind = PERSON_GROUP) -> Person:
        persons = self._persons(kind)
        return Person.from_dict(self._json(lambda: persons.get(group_id, person_id, raw=True)))

    def update_person(
        self,
        group_id: str,
        person_id: str,
        name: str | None = None,
        user_data: str | None = None,
        *,
        kind: GroupKind = PERSON_GROUP,
    ) -> Person:
        persons = self._persons(kind)
        self._json(lambda: persons.update(group_id, person_id, name or None, user_data, raw=True))
        return self.get_person(group_id, person_id, kind=kind)

    def delete_person(self, group_id: str, person_id: str, *, kind: GroupKind = PERSON_GROUP) -> None:
        persons = self._persons(kind)
        self._json(lambda: persons.delete(group_id, person_id, raw=True))

    def list_persons(
        self, group_id: str, start: str | None = None, top: int = PAGE_SIZE, *, kind: GroupKind = PERSON_GROUP
    ) -> list[Person]:
        persons = self._persons(kind)
        return [Person.from_dict(p) for p in self._json(lambda: persons.list(group_id, start, top, raw=True))]

    def add_face(
        self,
        group_id: str,
        person_id: str,
        image: bytes,
        *,
        target_face: FaceRectangle | None = None,
        user_data: str | None = None,
        kind: GroupKind = PERSON_GROUP,
    ) -> PersistedFace:
        persons = self._persons(kind)
        added = self._json(
            lambda: persons.add_face_from_stream(
                group_id,
                person_id,
                io.BytesIO(image),
                user_data=user_data,
                target_face=target_face_param(target_face),
                detection_model=self.settings.azure_face_detection_model,
                raw=True,
            )
        )
        return PersistedFace(added["persistedFaceId"], person_id, user_data)

    def get_face(self, group_id: str, person_id: str, face_id: str, *, kind: GroupKind = PERSON_GROUP) -> PersistedFace:
        persons = self._persons(kind)
        face = self._json(lambda: persons.get_face(group_id, person_id, face_id, raw=True))
        return PersistedFace(face["persistedFaceId"], person_id, face.get("userData"))

    def update_face(
        self, group_id: str, person_id: str, face_id: str, user_data: str | None, *, kind: GroupKind = PERSON_GROUP
    ) -> PersistedFace:
        persons = self._persons(kind)
        self._json(lambda: persons.update_face(group_id, person_id, face_id, user_data, raw=True))
        return self.get_face(group_id, person_id, face_id, kind=kind)

    def delete_face(self, group_id: str, person_id: str, face_id: str, *, kind: GroupKind = PERSON_GROUP) -> None:
        persons = self._persons(kind)
        self._json(lambda: persons.delete_face(group_id, person_id, face_id, raw=True))

    def iter_faces(
        self, group_id: str, person_id: str | None = None, *, kind: GroupKind = PERSON_GROUP
    ) -> Iterator[PersistedFace]:
        """One call per face (the service lists face ids only): for enrollment, not the frame path."""
        persons = (
            [self.get_person(group_id, person_id, kind=kind)] if person_id else all_persons(self, group_id, kind=kind)
        )
        for person in persons:
            for face_id in person.persisted_face_ids:
                yield self.get_face(group_id, person.person_id, face_id, kind=kind)

    def face_photo(self, group_id: str, person_id: str, face_id: str, *, kind: GroupKind = PERSON_GROUP) -> bytes:
        """Azure keeps a face's features, never its photo: refused without a call, whichever face is asked."""
        raise PhotoNotKept(
            "The Azure Face API keeps no photo of a persisted face, so FACE_ENGINE=azure has none to answer; "
            "the local engines keep each enrolled photo."
        )

    # -- training ------------------------------------------------------------------------------
    def request_training(self, group_id: str, *, kind: GroupKind = PERSON_GROUP) -> TrainingStatus:
        groups = self._groups(kind)
        self._json(lambda: groups.train(group_id, raw=True))  # 202: the service trains on its own
        return self.training_status(group_id, kind=kind)

    def train(self, group_id: str, *, kind: GroupKind = PERSON_GROUP) -> TrainingStatus:
        self.request_training(group_id, kind=kind)
        return self._wait_for_training(lambda: self.training_status(group_id, kind=kind))

    def _wait_for_training(self, status_of: Callable[[], TrainingStatus]) -> TrainingStatus:
        """Poll a training the service runs until it ends (or TRAINING_TIMEOUT_SECONDS pass)."""
        deadline = time.monotonic() + TRAINING_TIMEOUT_SECONDS
        while True:
            status = status_of()
            if status.status in ("succeeded", "failed") or time.monotonic() > deadline:
                return status
            self._sleep(TRAINING_POLL_SECONDS)

    def mark_training_failed(self, group_id: str, reason: str, *, kind: GroupKind = PERSON_GROUP) -> TrainingStatus:
        """Azure trains on its own, never through this app's queue: there is nothing to mark."""
        return self.training_status(group_id, kind=kind)

    def training_status(self, group_id: str, *, kind: GroupKind = PERSON_GROUP) -> TrainingStatus:
        groups = self._groups(kind)
        return TrainingStatus.from_dict(self._json(lambda: groups.get_training_status(group_id, raw=True)))

    # -- operations on images and face ids -----------------------------------------------------
    def detect(self, image: bytes, options: DetectOptions) -> list[dict[str, Any]]:
        faces = self._client.face
        return self._json(
            lambda: faces.detect_with_stream(
                io.BytesIO(image),
                return_face_id=options.return_face_id,
                return_face_landmarks=options.return_landmarks,
                return_face_attributes=list(options.attributes) or None,
                recognition_model=options.recognition_model or self.settings.azure_face_recognition_model,
                detection_model=options.detection_model or self.settings.azure_face_detection_model,
                face_id_time_to_live=options.face_id_ttl,
                raw=True,
            )
        )

    def identify(
        self,
        group_id: str,
        face_ids: list[str],
        *,
        max_candidates: int = 10,
        confidence_threshold: float | None = None,
        kind: GroupKind = PERSON_GROUP,
    ) -> list[dict[str, Any]]:
        faces = self._client.face
        return self._json(
            lambda: faces.identify(
                face_ids,
                **{_sdk_group_argument(kind): group_id},
                max_num_of_candidates_returned=max_candidates,
                confidence_threshold=confidence_threshold,
                raw=True,
            )
        )

    def verify_faces(self, face_id1: str, face_id2: str) -> dict[str, Any]:
        faces = self._client.face
        return self._json(lambda: faces.verify_face_to_face(face_id1, face_id2, raw=True))

    def verify_person(
        self, face_id: str, group_id: str, person_id: str, *, kind: GroupKind = PERSON_GROUP
    ) -> dict[str, Any]:
        faces = self._client.face
        group = {_sdk_group_argument(kind): group_id}
        return self._json(lambda: faces.verify_face_to_person(face_id, person_id, raw=True, **group))

    # -- recognize: the frame pipeline ---------------------------------------------------------
    def find_faces(self, image: Image) -> list[FrameFace]:
        """Detect, keeping each face id for a minute: time for identify_faces."""
        options = DetectOptions(attributes=("qualityForRecognition",), face_id_ttl=FRAME_FACE_ID_TTL)
        detected = self.detect(image.encoded if image.encoded is not None else encode_jpeg(image.rgb), options)
        return [
            FrameFace(
                FaceRectangle.from_dict(face["faceRectangle"]),
                (face.get("faceAttributes") or {}).get("qualityForRecognition"),
                face["faceId"],
            )
            for face in detected
        ]

    def identify_faces(
        self,
        group_id: str,
        image: Image,
        faces: list[FrameFace],
        *,
        max_candidates: int = 1,
        confidence_threshold: float | None = None,
    ) -> list[RecognizedFace]:
        """Identify ten faces a call, as the service allows; names from the persons."""
        ids = [str(face.handle) for face in faces]
        found: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(ids), MAX_IDENTIFY_FACES):
            chunk = ids[start : start + MAX_IDENTIFY_FACES]
            for answer in self.identify(
                group_id, chunk, max_candidates=max_candidates, confidence_threshold=confidence_threshold
            ):
                found[answer["faceId"]] = answer["candidates"]
        names = self._person_names(group_id, {c["personId"] for cs in found.values() for c in cs})
        return [
            RecognizedFace(
                face.rectangle,
                face.quality_for_recognition,
                [
                    Candidate(c["personId"], names.get(c["personId"], c["personId"]), float(c["confidence"]))
                    for c in found.get(face_id, [])
                ],
            )
            for face, face_id in zip(faces, ids, strict=True)
        ]

    def naming_cut_off(self, group_id: str) -> float:
        """Azure does not publish identify's default threshold; 0.5 is the middle of its confidence scale."""
        return AZURE_NAMING_CUT_OFF

    def face_confidences(self, queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
        raise NotImplementedError("The Azure Face API answers no embeddings to compare.")

    def _person_names(self, group_id: str, person_ids: set[str]) -> dict[str, str]:
        """Names by person id, listed again when stale or when a person is not known yet."""
        with self._names_lock:
            fetched, names = self._names.get(group_id, (0.0, {}))
        if time.monotonic() - fetched > NAMES_TTL_SECONDS or not person_ids <= names.keys():
            names = {p.person_id: p.name for p in all_persons(self, group_id)}
            with self._names_lock:
                self._names[group_id] = (time.monotonic(), names)
        return names


def _sdk_group_argument(kind: GroupKind) -> str:
    """The SDK's keyword for the group in identify and verify."""
    return "large_person_group_id" if kind == LARGE_PERSON_GROUP else "person_group_id"

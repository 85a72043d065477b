"""The Face API answered by the Azure Face API (FACE_ENGINE=azure): this app's groups, persons,
faces, training, detect, identify and verify are the service's person groups and calls, made with
its SDK (`azure-cognitiveservices-vision-face`). Answers are passed on as the service's JSON, and its
errors with their codes. Identification and verification need Limited Access approval on Azure.

Because this app speaks the same API, AZURE_FACE_ENDPOINT may also be another instance of it.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from azure.core.credentials import TokenCredential
from msrest.pipeline import ClientRawResponse

from ...entra import entra_credential
from ...imaging import encode_jpeg
from ...models import (
    Candidate,
    DetectOptions,
    FaceRectangle,
    Image,
    PersistedFace,
    Person,
    PersonGroup,
    RecognizedFace,
    TrainingStatus,
)
from ...settings import Settings
from ..base import MAX_IDENTIFY_FACES, PAGE_SIZE
from .client import call, create_face_client

# Person names change rarely; identify answers ids only, so names are looked up and kept a while.
NAMES_TTL_SECONDS = 60.0
TRAINING_POLL_SECONDS = 1.0
TRAINING_TIMEOUT_SECONDS = 600.0
# Face ids of the frame path are used at once; the service's minimum lifetime.
FRAME_FACE_ID_TTL = 60


class AzureFaceApi:
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

    # -- person groups -------------------------------------------------------------------------
    def create_group(
        self, group_id: str, name: str, user_data: str | None = None, recognition_model: str | None = None
    ) -> PersonGroup:
        model = recognition_model or self.settings.azure_face_recognition_model
        groups = self._client.person_group
        self._json(lambda: groups.create(group_id, name, user_data, recognition_model=model, raw=True))
        return PersonGroup(group_id, name, user_data, recognition_model=model)

    def get_group(self, group_id: str) -> PersonGroup:
        groups = self._client.person_group
        return PersonGroup.from_dict(self._json(lambda: groups.get(group_id, return_recognition_model=True, raw=True)))

    def update_group(self, group_id: str, name: str | None = None, user_data: str | None = None) -> PersonGroup:
        groups = self._client.person_group
        self._json(lambda: groups.update(group_id, name or None, user_data, raw=True))
        return self.get_group(group_id)

    def delete_group(self, group_id: str) -> None:
        groups = self._client.person_group
        self._json(lambda: groups.delete(group_id, raw=True))
        with self._names_lock:
            self._names.pop(group_id, None)

    def list_groups(self, start: str | None = None, top: int = PAGE_SIZE) -> list[PersonGroup]:
        groups = self._client.person_group
        found = self._json(lambda: groups.list(start, top, return_recognition_model=True, raw=True))
        return [PersonGroup.from_dict(g) for g in found]

    # -- persons and their faces ---------------------------------------------------------------
    def create_person(self, group_id: str, name: str, user_data: str | None = None) -> Person:
        persons = self._client.person_group_person
        created = self._json(lambda: persons.create(group_id, name, user_data, raw=True))
        return Person(created["personId"], name, user_data)

    def get_person(self, group_id: str, person_id: str) -> Person:
        persons = self._client.person_group_person
        return Person.from_dict(self._json(lambda: persons.get(group_id, person_id, raw=True)))

    def update_person(
        self, group_id: str, person_id: str, name: str | None = None, user_data: str | None = None
    ) -> Person:
        persons = self._client.person_group_person
        self._json(lambda: persons.update(group_id, person_id, name or None, user_data, raw=True))
        return self.get_person(group_id, person_id)

    def delete_person(self, group_id: str, person_id: str) -> None:
        persons = self._client.person_group_person
        self._json(lambda: persons.delete(group_id, person_id, raw=True))

    def list_persons(self, group_id: str, start: str | None = None, top: int = PAGE_SIZE) -> list[Person]:
        persons = self._client.person_group_person
        return [Person.from_dict(p) for p in self._json(lambda: persons.list(group_id, start, top, raw=True))]

    def _all_persons(self, group_id: str) -> Iterator[Person]:
        """Every person of the group, a page of the service's 1000 at a time."""
        start = None
        while True:
            page = self.list_persons(group_id, start, PAGE_SIZE)
            yield from page
            if len(page) < PAGE_SIZE:
                return
            start = page[-1].person_id

    def add_face(
        self,
        group_id: str,
        person_id: str,
        image: bytes,
        *,
        target_face: FaceRectangle | None = None,
        user_data: str | None = None,
    ) -> PersistedFace:
        persons = self._client.person_group_person
        target = [target_face.left, target_face.top, target_face.width, target_face.height] if target_face else None
        added = self._json(
            lambda: persons.add_face_from_stream(
                group_id,
                person_id,
                io.BytesIO(image),
                user_data=user_data,
                target_face=target,
                detection_model=self.settings.azure_face_detection_model,
                raw=True,
            )
        )
        return PersistedFace(added["persistedFaceId"], person_id, user_data)

    def get_face(self, group_id: str, person_id: str, face_id: str) -> PersistedFace:
        persons = self._client.person_group_person
        face = self._json(lambda: persons.get_face(group_id, person_id, face_id, raw=True))
        return PersistedFace(face["persistedFaceId"], person_id, face.get("userData"))

    def delete_face(self, group_id: str, person_id: str, face_id: str) -> None:
        persons = self._client.person_group_person
        self._json(lambda: persons.delete_face(group_id, person_id, face_id, raw=True))

    def iter_faces(self, group_id: str, person_id: str | None = None) -> Iterator[PersistedFace]:
        """One call per face (the service lists face ids only): for enrollment, not the frame path."""
        persons = [self.get_person(group_id, person_id)] if person_id else self._all_persons(group_id)
        for person in persons:
            for face_id in person.persisted_face_ids:
                yield self.get_face(group_id, person.person_id, face_id)

    # -- training ------------------------------------------------------------------------------
    def request_training(self, group_id: str) -> TrainingStatus:
        groups = self._client.person_group
        self._json(lambda: groups.train(group_id, raw=True))  # 202: the service trains on its own
        return self.training_status(group_id)

    def train(self, group_id: str) -> TrainingStatus:
        self.request_training(group_id)
        deadline = time.monotonic() + TRAINING_TIMEOUT_SECONDS
        while True:
            status = self.training_status(group_id)
            if status.status in ("succeeded", "failed") or time.monotonic() > deadline:
                return status
            self._sleep(TRAINING_POLL_SECONDS)

    def mark_training_failed(self, group_id: str, reason: str) -> TrainingStatus:
        """Azure trains on its own, never through this app's queue: there is nothing to mark."""
        return self.training_status(group_id)

    def training_status(self, group_id: str) -> TrainingStatus:
        groups = self._client.person_group
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
        self, group_id: str, face_ids: list[str], *, max_candidates: int = 10, confidence_threshold: float | None = None
    ) -> list[dict[str, Any]]:
        faces = self._client.face
        return self._json(
            lambda: faces.identify(
                face_ids,
                person_group_id=group_id,
                max_num_of_candidates_returned=max_candidates,
                confidence_threshold=confidence_threshold,
                raw=True,
            )
        )

    def verify_faces(self, face_id1: str, face_id2: str) -> dict[str, Any]:
        faces = self._client.face
        return self._json(lambda: faces.verify_face_to_face(face_id1, face_id2, raw=True))

    def verify_person(self, face_id: str, group_id: str, person_id: str) -> dict[str, Any]:
        faces = self._client.face
        return self._json(lambda: faces.verify_face_to_person(face_id, person_id, person_group_id=group_id, raw=True))

    # -- recognize: the frame pipeline ---------------------------------------------------------
    def recognize(
        self, group_id: str, image: Image, *, max_candidates: int = 1, confidence_threshold: float | None = None
    ) -> list[RecognizedFace]:
        """Detect, then identify ten faces a call, as the service allows; names from the persons."""
        options = DetectOptions(attributes=("qualityForRecognition",), face_id_ttl=FRAME_FACE_ID_TTL)
        detected = self.detect(image.encoded if image.encoded is not None else encode_jpeg(image.rgb), options)
        if not detected:
            return []
        ids = [face["faceId"] for face in detected]
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
                FaceRectangle.from_dict(face["faceRectangle"]),
                (face.get("faceAttributes") or {}).get("qualityForRecognition"),
                [
                    Candidate(c["personId"], names.get(c["personId"], c["personId"]), float(c["confidence"]))
                    for c in found.get(face["faceId"], [])
                ],
            )
            for face in detected
        ]

    def _person_names(self, group_id: str, person_ids: set[str]) -> dict[str, str]:
        """Names by person id, listed again when stale or when a person is not known yet."""
        with self._names_lock:
            fetched, names = self._names.get(group_id, (0.0, {}))
        if time.monotonic() - fetched > NAMES_TTL_SECONDS or not person_ids <= names.keys():
            names = {p.person_id: p.name for p in self._all_persons(group_id)}
            with self._names_lock:
                self._names[group_id] = (time.monotonic(), names)
        return names

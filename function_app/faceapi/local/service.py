"""The Face API answered on this machine, composed of its parts: the gallery (groups, persons, faces)
in the app's storage, the trainer that turns a group into an index, the face ids detect hands out,
and a local engine for detection and embeddings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ...engines import FaceEngine
from ...errors import BadArgument
from ...imaging import decode_upload
from ...models import DetectOptions, FaceRectangle, Image, Person, PersonGroup, RecognizedFace, TrainingStatus
from ...settings import Settings
from ...storage import Storage
from ..base import MAX_IDENTIFY_FACES, PAGE_SIZE
from .detection import detect_faces
from .face_ids import FaceIdStore
from .gallery import EnrolledFace, Gallery
from .matching import distance_to_confidence, match_embeddings
from .training import Trainer


class LocalFaceApi:
    def __init__(self, storage: Storage, engine: FaceEngine, settings: Settings):
        self.settings = settings
        self.storage = storage
        self.engine = engine
        self.gallery = Gallery(storage, engine, settings)
        self.trainer = Trainer(self.gallery, storage)
        self.face_ids = FaceIdStore(storage)

    # -- person groups, persons, faces: the gallery ----------------------------------------------
    def create_group(
        self, group_id: str, name: str, user_data: str | None = None, recognition_model: str | None = None
    ) -> PersonGroup:
        return self.gallery.create_group(group_id, name, user_data, recognition_model)

    def get_group(self, group_id: str) -> PersonGroup:
        return self.gallery.get_group(group_id)

    def update_group(self, group_id: str, name: str | None = None, user_data: str | None = None) -> PersonGroup:
        return self.gallery.update_group(group_id, name, user_data)

    def delete_group(self, group_id: str) -> None:
        self.gallery.delete_group(group_id)

    def list_groups(self, start: str | None = None, top: int = PAGE_SIZE) -> list[PersonGroup]:
        return self.gallery.list_groups(start, top)

    def create_person(self, group_id: str, name: str, user_data: str | None = None) -> Person:
        return self.gallery.create_person(group_id, name, user_data)

    def get_person(self, group_id: str, person_id: str) -> Person:
        return self.gallery.get_person(group_id, person_id)

    def update_person(
        self, group_id: str, person_id: str, name: str | None = None, user_data: str | None = None
    ) -> Person:
        return self.gallery.update_person(group_id, person_id, name, user_data)

    def delete_person(self, group_id: str, person_id: str) -> None:
        self.gallery.delete_person(group_id, person_id)

    def list_persons(self, group_id: str, start: str | None = None, top: int = PAGE_SIZE) -> list[Person]:
        return self.gallery.list_persons(group_id, start, top)

    def add_face(
        self,
        group_id: str,
        person_id: str,
        image: bytes,
        *,
        target_face: FaceRectangle | None = None,
        user_data: str | None = None,
    ) -> EnrolledFace:
        return self.gallery.add_face(group_id, person_id, image, target_face=target_face, user_data=user_data)

    def get_face(self, group_id: str, person_id: str, face_id: str) -> EnrolledFace:
        return self.gallery.get_face(group_id, person_id, face_id)

    def delete_face(self, group_id: str, person_id: str, face_id: str) -> None:
        self.gallery.delete_face(group_id, person_id, face_id)

    def iter_faces(self, group_id: str, person_id: str | None = None) -> Iterator[EnrolledFace]:
        return self.gallery.iter_faces(group_id, person_id)

    # -- training ------------------------------------------------------------------------------
    def request_training(self, group_id: str) -> TrainingStatus:
        return self.trainer.request(group_id)

    def train(self, group_id: str) -> TrainingStatus:
        return self.trainer.train(group_id)

    def training_status(self, group_id: str) -> TrainingStatus:
        return self.trainer.status(group_id)

    def mark_training_failed(self, group_id: str, reason: str) -> TrainingStatus:
        return self.trainer.mark_failed(group_id, reason)

    # -- detect, identify, verify --------------------------------------------------------------
    def detect(self, image: bytes, options: DetectOptions) -> list[dict[str, Any]]:
        faces = detect_faces(self.engine, decode_upload(image, self.settings), embeddings=options.return_face_id)
        ids = (
            self.face_ids.remember([f.required_embedding() for f in faces], options.face_id_ttl)
            if options.return_face_id
            else []
        )
        answers = []
        for i, face in enumerate(faces):
            answer: dict[str, Any] = {"faceId": ids[i]} if ids else {}
            full = face.to_dict()
            answer["faceRectangle"] = full["faceRectangle"]
            if options.return_landmarks:
                answer["faceLandmarks"] = full["faceLandmarks"]
            if options.attributes:
                answer["faceAttributes"] = {a: full["faceAttributes"][a] for a in options.attributes}
            answers.append(answer)
        return answers

    def identify(
        self, group_id: str, face_ids: list[str], *, max_candidates: int = 10, confidence_threshold: float | None = None
    ) -> list[dict[str, Any]]:
        if not isinstance(face_ids, list) or not face_ids or not all(isinstance(f, str) for f in face_ids):
            raise BadArgument("'faceIds' must be a non-empty list of face ids from detect.")
        if len(face_ids) > MAX_IDENTIFY_FACES:
            raise BadArgument(f"'faceIds' holds {len(face_ids)} ids; at most {MAX_IDENTIFY_FACES} are allowed.")
        index = self.trainer.load_index(group_id)
        queries = np.stack([self.face_ids.recall(f) for f in face_ids])
        candidates = match_embeddings(
            index,
            queries,
            match_threshold=self.settings.match_threshold,
            max_candidates=max_candidates,
            confidence_threshold=confidence_threshold,
        )
        return [
            {"faceId": face_id, "candidates": [c.to_dict() for c in found]}
            for face_id, found in zip(face_ids, candidates, strict=True)
        ]

    def verify_faces(self, face_id1: str, face_id2: str) -> dict[str, Any]:
        """Are two detected faces the same person?"""
        a, b = self.face_ids.recall(face_id1), self.face_ids.recall(face_id2)
        return self._verdict(float(np.linalg.norm(a - b)))

    def verify_person(self, face_id: str, group_id: str, person_id: str) -> dict[str, Any]:
        """Does a detected face belong to a person? Compared with the person's faces themselves,
        so that no training is needed (as in Azure)."""
        vector = self.face_ids.recall(face_id)
        person = self.gallery.get_person(group_id, person_id)
        faces = [f.embedding for f in self.gallery.iter_faces(group_id, person.person_id)]
        if not faces:
            raise BadArgument(f"Person {person.person_id} has no faces to verify against.")
        return self._verdict(float(np.min(np.linalg.norm(np.stack(faces) - vector, axis=1))))

    def _verdict(self, distance: float) -> dict[str, Any]:
        threshold = self.settings.match_threshold
        confidence = float(distance_to_confidence(np.asarray(distance, np.float32), threshold))
        return {"isIdentical": distance <= threshold, "confidence": round(confidence, 5)}

    # -- recognize: the frame pipeline ---------------------------------------------------------
    def recognize(
        self, group_id: str, image: Image, *, max_candidates: int = 1, confidence_threshold: float | None = None
    ) -> list[RecognizedFace]:
        index = self.trainer.load_index(group_id)
        faces = detect_faces(self.engine, image)
        if not faces:
            return []
        candidates = match_embeddings(
            index,
            np.stack([f.required_embedding() for f in faces]),
            match_threshold=self.settings.match_threshold,
            max_candidates=max_candidates,
            confidence_threshold=confidence_threshold,
        )
        return [
            RecognizedFace(face.rectangle, face.quality.quality_for_recognition, found)
            for face, found in zip(faces, candidates, strict=True)
        ]

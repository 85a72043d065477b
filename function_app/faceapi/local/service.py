"""The Face API answered on this machine, composed of its parts: the gallery (groups, persons, faces)
in the app's storage, the trainer that turns a group into an index, the face ids detect hands out,
and a local engine for detection and embeddings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import numpy as np

from ...engines import FaceEngine, embedding_layout
from ...errors import BadArgument, FaceNotFound, PersonGroupNotFound, with_status
from ...imaging import decode_upload
from ...models import (
    DetectedFace,
    DetectOptions,
    FaceRectangle,
    FrameFace,
    Image,
    Person,
    PersonGroup,
    RecognizedFace,
    TrainingStatus,
)
from ...settings import Settings
from ...storage import Storage
from ..base import MAX_IDENTIFY_FACES, PAGE_SIZE
from ..group_kinds import GROUP_KINDS, PERSON_GROUP, GroupKind
from .detection import detect_faces
from .face_ids import FaceIdStore
from .face_list_api import LocalFaceListApi
from .face_lists import FaceListStore, LargeFaceListTrainee
from .gallery import EnrolledFace, Gallery
from .journal_training import GroupTrainee
from .matching import PAIR_CUT_OFF, MatchRule, match_embeddings
from .training import Trainer


class LocalFaceApi(LocalFaceListApi):
    def __init__(self, storage: Storage, engine: FaceEngine, settings: Settings):
        self.settings = settings
        self.storage = storage
        self.engine = engine
        self.galleries = {kind: Gallery(storage, engine, settings, kind) for kind in GROUP_KINDS}
        self.trainers = {kind: Trainer(GroupTrainee(self.galleries[kind]), storage) for kind in GROUP_KINDS}
        self.gallery = self.galleries[PERSON_GROUP]  # the person groups', which the tools use
        self.trainer = self.trainers[PERSON_GROUP]
        self.face_ids = FaceIdStore(storage)
        self.match_rule = MatchRule(
            settings.match_rule == "calibrated", settings.match_threshold, settings.approximate_search_from
        )
        self.face_lists = FaceListStore(storage, self.gallery, settings)
        self.list_trainer = Trainer(LargeFaceListTrainee(self.face_lists), storage)

    # -- groups, persons, faces: the gallery of the kind ---------------------------------------
    def create_group(
        self,
        group_id: str,
        name: str,
        user_data: str | None = None,
        recognition_model: str | None = None,
        *,
        kind: GroupKind = PERSON_GROUP,
    ) -> PersonGroup:
        return self.galleries[kind].create_group(group_id, name, user_data, recognition_model)

    def get_group(self, group_id: str, *, kind: GroupKind = PERSON_GROUP) -> PersonGroup:
        return self.galleries[kind].get_group(group_id)

    def update_group(
        self, group_id: str, name: str | None = None, user_data: str | None = None, *, kind: GroupKind = PERSON_GROUP
    ) -> PersonGroup:
        return self.galleries[kind].update_group(group_id, name, user_data)

    def delete_group(self, group_id: str, *, kind: GroupKind = PERSON_GROUP) -> None:
        self.galleries[kind].get_group(group_id)
        if self.trainers[kind].is_training(group_id):
            raise kind.training_not_finished(
                f"{kind.label} {group_id!r} is training; try again once the training has finished."
            )
        self.galleries[kind].delete_group(group_id)
        self.trainers[kind].forget(group_id)

    def list_groups(
        self, start: str | None = None, top: int = PAGE_SIZE, *, kind: GroupKind = PERSON_GROUP
    ) -> list[PersonGroup]:
        return self.galleries[kind].list_groups(start, top)

    def create_person(
        self, group_id: str, name: str, user_data: str | None = None, *, kind: GroupKind = PERSON_GROUP
    ) -> Person:
        return self.galleries[kind].create_person(group_id, name, user_data)

    def get_person(self, group_id: str, person_id: str, *, kind: GroupKind = PERSON_GROUP) -> Person:
        return self.galleries[kind].get_person(group_id, person_id)

    def update_person(
        self,
        group_id: str,
        person_id: str,
        name: str | None = None,
        user_data: str | None = None,
        *,
        kind: GroupKind = PERSON_GROUP,
    ) -> Person:
        return self.galleries[kind].update_person(group_id, person_id, name, user_data)

    def delete_person(self, group_id: str, person_id: str, *, kind: GroupKind = PERSON_GROUP) -> None:
        self.galleries[kind].delete_person(group_id, person_id)

    def list_persons(
        self, group_id: str, start: str | None = None, top: int = PAGE_SIZE, *, kind: GroupKind = PERSON_GROUP
    ) -> list[Person]:
        return self.galleries[kind].list_persons(group_id, start, top)

    def add_face(
        self,
        group_id: str,
        person_id: str,
        image: bytes,
        *,
        target_face: FaceRectangle | None = None,
        user_data: str | None = None,
        kind: GroupKind = PERSON_GROUP,
    ) -> EnrolledFace:
        return self.galleries[kind].add_face(group_id, person_id, image, target_face=target_face, user_data=user_data)

    def get_face(self, group_id: str, person_id: str, face_id: str, *, kind: GroupKind = PERSON_GROUP) -> EnrolledFace:
        return self.galleries[kind].get_face(group_id, person_id, face_id)

    def update_face(
        self, group_id: str, person_id: str, face_id: str, user_data: str | None, *, kind: GroupKind = PERSON_GROUP
    ) -> EnrolledFace:
        return self.galleries[kind].update_face(group_id, person_id, face_id, user_data)

    def delete_face(self, group_id: str, person_id: str, face_id: str, *, kind: GroupKind = PERSON_GROUP) -> None:
        self.galleries[kind].delete_face(group_id, person_id, face_id)

    def iter_faces(
        self, group_id: str, person_id: str | None = None, *, kind: GroupKind = PERSON_GROUP
    ) -> Iterator[EnrolledFace]:
        return self.galleries[kind].iter_faces(group_id, person_id)

    def face_photo(self, group_id: str, person_id: str, face_id: str, *, kind: GroupKind = PERSON_GROUP) -> bytes:
        return self.galleries[kind].get_face_photo(group_id, person_id, face_id)

    # -- training ------------------------------------------------------------------------------
    def request_training(self, group_id: str, *, kind: GroupKind = PERSON_GROUP) -> TrainingStatus:
        return self.trainers[kind].request(group_id)

    def train(self, group_id: str, *, kind: GroupKind = PERSON_GROUP) -> TrainingStatus:
        return self.trainers[kind].train(group_id)

    def training_status(self, group_id: str, *, kind: GroupKind = PERSON_GROUP) -> TrainingStatus:
        return self.trainers[kind].status(group_id)

    def mark_training_failed(self, group_id: str, reason: str, *, kind: GroupKind = PERSON_GROUP) -> TrainingStatus:
        return self.trainers[kind].mark_failed(group_id, reason)

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
        self,
        group_id: str,
        face_ids: list[str],
        *,
        max_candidates: int = 10,
        confidence_threshold: float | None = None,
        kind: GroupKind = PERSON_GROUP,
    ) -> list[dict[str, Any]]:
        if not isinstance(face_ids, list) or not face_ids or not all(isinstance(f, str) for f in face_ids):
            raise BadArgument("'faceIds' must be a non-empty list of face ids from detect.")
        if len(face_ids) > MAX_IDENTIFY_FACES:
            raise BadArgument(f"'faceIds' holds {len(face_ids)} ids; at most {MAX_IDENTIFY_FACES} are allowed.")
        # Azure answers identify's unknown group and unknown faceIds with 400, not 404.
        try:
            index = self.trainers[kind].load_index(group_id)
            queries = np.stack([self.face_ids.recall(f) for f in face_ids])
        except (PersonGroupNotFound, FaceNotFound) as error:
            raise with_status(error, 400) from None
        candidates = match_embeddings(
            index,
            queries,
            rule=self.match_rule,
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
        return self._verdict(self.match_rule.face_confidences(a[np.newaxis, :], b[np.newaxis, :])[0])

    def verify_person(
        self, face_id: str, group_id: str, person_id: str, *, kind: GroupKind = PERSON_GROUP
    ) -> dict[str, Any]:
        """Does a detected face belong to a person? Compared with the person's faces themselves,
        so that no training is needed (as in Azure)."""
        vector = self.face_ids.recall(face_id)
        gallery = self.galleries[kind]
        person = gallery.get_person(group_id, person_id)
        faces = [f.embedding for f in gallery.iter_faces(group_id, person.person_id)]
        if not faces:
            raise BadArgument(f"Person {person.person_id} has no faces to verify against.")
        return self._verdict(self.match_rule.face_confidences(vector[np.newaxis, :], np.stack(faces))[0])

    @staticmethod
    def _verdict(confidences: np.ndarray) -> dict[str, Any]:
        """From the nearest of the faces compared: verify is 1:1, with no other person to take a margin over."""
        confidence = float(np.max(confidences))
        return {"isIdentical": confidence >= PAIR_CUT_OFF, "confidence": round(confidence, 5)}

    # -- recognize: the frame pipeline ---------------------------------------------------------
    def find_faces(self, image: Image) -> list[FrameFace]:
        return [
            FrameFace(face.rectangle, face.quality.quality_for_recognition, face)
            for face in detect_faces(self.engine, image, embeddings=False)
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
        index = self.trainer.load_index(group_id)
        if not faces:
            return []
        detected = [face.handle for face in faces]
        if not all(isinstance(face, DetectedFace) for face in detected):
            raise TypeError("identify_faces takes the faces find_faces answered")
        vectors = self.engine.embed(image.rgb, cast(list[DetectedFace], detected))
        candidates = match_embeddings(
            index,
            np.stack(vectors),
            rule=self.match_rule,
            max_candidates=max_candidates,
            confidence_threshold=confidence_threshold,
        )
        return [
            RecognizedFace(face.rectangle, face.quality_for_recognition, found, embedding=vector)
            for face, found, vector in zip(faces, candidates, vectors, strict=True)
        ]

    def naming_cut_off(self, group_id: str) -> float:
        index = self.trainer.load_index(group_id)
        return self.match_rule.default_cut_off(embedding_layout.is_fused(index.embeddings))

    def face_confidences(self, queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return self.match_rule.face_confidences(queries, rows)

"""The face-list part of the FaceApi contract (faceapi/face_lists.py) on this machine: the store of
face_lists.py for the lists, similarity.py for find-similar and group. Mixed into LocalFaceApi."""

from __future__ import annotations

import numpy as np

from ...models import FaceRectangle, PersistedFace, TrainingStatus
from ..face_lists import (
    DEFAULT_SIMILAR_CANDIDATES,
    FaceGroups,
    FaceList,
    ListKind,
    MatchMode,
    SimilarCandidates,
    SimilarFace,
    check_face_ids,
)
from .face_ids import FaceIdStore
from .face_lists import FaceListStore, face_index
from .gallery import EnrolledFace
from .matching import MatchRule
from .similarity import group_embeddings, similar_faces
from .training import TrainedIndex, Trainer


class LocalFaceListApi:
    face_ids: FaceIdStore
    face_lists: FaceListStore
    list_trainer: Trainer  # large face lists'
    match_rule: MatchRule

    def create_face_list(
        self,
        kind: ListKind,
        list_id: str,
        name: str,
        user_data: str | None = None,
        recognition_model: str | None = None,
    ) -> FaceList:
        return self.face_lists.create(kind, list_id, name, user_data, recognition_model)

    def get_face_list(self, kind: ListKind, list_id: str) -> FaceList:
        return self.face_lists.get(kind, list_id, with_faces=kind is ListKind.FACE_LIST)

    def update_face_list(
        self, kind: ListKind, list_id: str, name: str | None = None, user_data: str | None = None
    ) -> None:
        self.face_lists.update(kind, list_id, name, user_data)

    def delete_face_list(self, kind: ListKind, list_id: str) -> None:
        self.face_lists.delete(kind, list_id)
        self.list_trainer.forget(list_id)

    def list_face_lists(self, kind: ListKind, start: str | None = None, top: int = 1000) -> list[FaceList]:
        return self.face_lists.list_lists(kind, start, top)

    def add_list_face(
        self,
        kind: ListKind,
        list_id: str,
        image: bytes,
        *,
        target_face: FaceRectangle | None = None,
        user_data: str | None = None,
    ) -> EnrolledFace:
        return self.face_lists.add_face(kind, list_id, image, target_face, user_data)

    def get_list_face(self, kind: ListKind, list_id: str, face_id: str) -> EnrolledFace:
        return self.face_lists.get_face(kind, list_id, face_id)

    def update_list_face(self, kind: ListKind, list_id: str, face_id: str, user_data: str | None) -> None:
        self.face_lists.update_face(kind, list_id, face_id, user_data)

    def delete_list_face(self, kind: ListKind, list_id: str, face_id: str) -> None:
        self.face_lists.delete_face(kind, list_id, face_id)

    def list_list_faces(
        self, kind: ListKind, list_id: str, start: str | None = None, top: int = 1000
    ) -> list[PersistedFace]:
        self.face_lists.get(kind, list_id)
        return list(self.face_lists.faces(kind, list_id, start, top))

    def request_list_training(self, list_id: str) -> TrainingStatus:
        return self.list_trainer.request(list_id)

    def train_list(self, list_id: str) -> TrainingStatus:
        return self.list_trainer.train(list_id)

    def list_training_status(self, list_id: str) -> TrainingStatus:
        return self.list_trainer.status(list_id)

    def mark_list_training_failed(self, list_id: str, reason: str) -> TrainingStatus:
        return self.list_trainer.mark_failed(list_id, reason)

    def find_similar(
        self,
        face_id: str,
        candidates: SimilarCandidates,
        *,
        max_candidates: int = DEFAULT_SIMILAR_CANDIDATES,
        mode: MatchMode = MatchMode.MATCH_PERSON,
    ) -> list[SimilarFace]:
        query = self.face_ids.recall(face_id)
        index: TrainedIndex | None
        if candidates.face_ids is not None:
            ids = list(candidates.face_ids)
            index = face_index(ids, [self.face_ids.recall(f) for f in ids])
        elif candidates.face_list_id is not None:
            index = self.face_lists.face_list_index(candidates.face_list_id)
        else:
            index = self.list_trainer.load_index(str(candidates.large_face_list_id))
        if index is None:  # an empty face list: nothing is similar
            return []
        found = similar_faces(index, query, rule=self.match_rule, max_candidates=max_candidates, mode=mode)
        if candidates.face_ids is not None:
            return [SimilarFace(confidence, face_id=candidate) for candidate, confidence in found]
        return [SimilarFace(confidence, persisted_face_id=candidate) for candidate, confidence in found]

    def group_faces(self, face_ids: list[str]) -> FaceGroups:
        ids = list(dict.fromkeys(check_face_ids(face_ids, "faceIds", minimum=1)))
        groups, messy = group_embeddings(np.stack([self.face_ids.recall(f) for f in ids]), self.match_rule)
        return FaceGroups(tuple(tuple(ids[i] for i in g) for g in groups), tuple(ids[i] for i in messy))

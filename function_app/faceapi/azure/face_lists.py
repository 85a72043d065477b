"""The face-list part of the FaceApi contract (faceapi/face_lists.py) answered by the Azure Face API:
its face lists, large face lists, find-similar and group, through the same SDK and `call` as the rest
of the Azure backend. Mixed into AzureFaceApi."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from azure.cognitiveservices.vision.face import FaceClient
from msrest.pipeline import ClientRawResponse

from ...models import RECOGNITION_MODEL, FaceRectangle, PersistedFace, TrainingStatus
from ...settings import Settings
from ..face_lists import (
    DEFAULT_SIMILAR_CANDIDATES,
    FaceGroups,
    FaceList,
    ListKind,
    MatchMode,
    SimilarCandidates,
    SimilarFace,
    check_face_ids,
    check_max_candidates,
)
from .client import target_face_param


def _face_list(kind: ListKind, data: dict[str, Any]) -> FaceList:
    faces = data.get("persistedFaces")
    return FaceList(
        kind,
        data[kind.id_name],
        data.get("name", ""),
        data.get("userData"),
        data.get("recognitionModel") or RECOGNITION_MODEL,
        tuple(PersistedFace(f["persistedFaceId"], data[kind.id_name], f.get("userData")) for f in faces)
        if faces is not None
        else None,
    )


class AzureFaceListApi:
    settings: Settings
    _client: FaceClient
    _json: Callable[[Callable[[], ClientRawResponse]], Any]
    _wait_for_training: Callable[[Callable[[], TrainingStatus]], TrainingStatus]

    def _operations(self, kind: ListKind) -> Any:
        return self._client.face_list if kind is ListKind.FACE_LIST else self._client.large_face_list

    def create_face_list(
        self,
        kind: ListKind,
        list_id: str,
        name: str,
        user_data: str | None = None,
        recognition_model: str | None = None,
    ) -> FaceList:
        kind.check_id(list_id)
        model = recognition_model or self.settings.azure_face_recognition_model
        lists = self._operations(kind)
        self._json(lambda: lists.create(list_id, name, user_data, recognition_model=model, raw=True))
        return FaceList(kind, list_id, name, user_data, model)

    def get_face_list(self, kind: ListKind, list_id: str) -> FaceList:
        kind.check_id(list_id)
        lists = self._operations(kind)
        return _face_list(kind, self._json(lambda: lists.get(list_id, return_recognition_model=True, raw=True)))

    def update_face_list(
        self, kind: ListKind, list_id: str, name: str | None = None, user_data: str | None = None
    ) -> None:
        kind.check_id(list_id)
        lists = self._operations(kind)
        self._json(lambda: lists.update(list_id, name or None, user_data, raw=True))

    def delete_face_list(self, kind: ListKind, list_id: str) -> None:
        kind.check_id(list_id)
        lists = self._operations(kind)
        self._json(lambda: lists.delete(list_id, raw=True))

    def list_face_lists(self, kind: ListKind, start: str | None = None, top: int = 1000) -> list[FaceList]:
        lists = self._operations(kind)
        if kind is ListKind.LARGE_FACE_LIST:
            found = self._json(lambda: lists.list(return_recognition_model=True, start=start, top=top, raw=True))
        else:  # the service pages large face lists only: a face list's page is cut here
            found = self._json(lambda: lists.list(return_recognition_model=True, raw=True))
            found = [f for f in found if start is None or f[kind.id_name] > start][:top]
        return [_face_list(kind, {**f, "persistedFaces": None}) for f in found]

    def add_list_face(
        self,
        kind: ListKind,
        list_id: str,
        image: bytes,
        *,
        target_face: FaceRectangle | None = None,
        user_data: str | None = None,
    ) -> PersistedFace:
        kind.check_id(list_id)
        lists = self._operations(kind)
        added = self._json(
            lambda: lists.add_face_from_stream(
                list_id,
                io.BytesIO(image),
                user_data=user_data,
                target_face=target_face_param(target_face),
                detection_model=self.settings.azure_face_detection_model,
                raw=True,
            )
        )
        return PersistedFace(added["persistedFaceId"], list_id, user_data)

    def get_list_face(self, kind: ListKind, list_id: str, face_id: str) -> PersistedFace:
        kind.check_id(list_id)
        lists = self._client.large_face_list
        face = self._json(lambda: lists.get_face(list_id, face_id, raw=True))
        return PersistedFace(face["persistedFaceId"], list_id, face.get("userData"))

    def update_list_face(self, kind: ListKind, list_id: str, face_id: str, user_data: str | None) -> None:
        kind.check_id(list_id)
        lists = self._client.large_face_list
        self._json(lambda: lists.update_face(list_id, face_id, user_data, raw=True))

    def delete_list_face(self, kind: ListKind, list_id: str, face_id: str) -> None:
        kind.check_id(list_id)
        lists = self._operations(kind)
        self._json(lambda: lists.delete_face(list_id, face_id, raw=True))

    def list_list_faces(
        self, kind: ListKind, list_id: str, start: str | None = None, top: int = 1000
    ) -> list[PersistedFace]:
        kind.check_id(list_id)
        lists = self._client.large_face_list
        found = self._json(lambda: lists.list_faces(list_id, start=start, top=top, raw=True))
        return [PersistedFace(f["persistedFaceId"], list_id, f.get("userData")) for f in found]

    def request_list_training(self, list_id: str) -> TrainingStatus:
        ListKind.LARGE_FACE_LIST.check_id(list_id)
        lists = self._client.large_face_list
        self._json(lambda: lists.train(list_id, raw=True))  # 202: the service trains on its own
        return self.list_training_status(list_id)

    def train_list(self, list_id: str) -> TrainingStatus:
        self.request_list_training(list_id)
        return self._wait_for_training(lambda: self.list_training_status(list_id))

    def list_training_status(self, list_id: str) -> TrainingStatus:
        ListKind.LARGE_FACE_LIST.check_id(list_id)
        lists = self._client.large_face_list
        return TrainingStatus.from_dict(self._json(lambda: lists.get_training_status(list_id, raw=True)))

    def mark_list_training_failed(self, list_id: str, reason: str) -> TrainingStatus:
        """Azure trains on its own, never through this app's queue: there is nothing to mark."""
        return self.list_training_status(list_id)

    def find_similar(
        self,
        face_id: str,
        candidates: SimilarCandidates,
        *,
        max_candidates: int = DEFAULT_SIMILAR_CANDIDATES,
        mode: MatchMode = MatchMode.MATCH_PERSON,
    ) -> list[SimilarFace]:
        for kind, list_id in (
            (ListKind.FACE_LIST, candidates.face_list_id),
            (ListKind.LARGE_FACE_LIST, candidates.large_face_list_id),
        ):
            if list_id is not None:
                kind.check_id(list_id)
        faces = self._client.face
        found = self._json(
            lambda: faces.find_similar(
                face_id,
                face_list_id=candidates.face_list_id,
                large_face_list_id=candidates.large_face_list_id,
                face_ids=list(candidates.face_ids) if candidates.face_ids is not None else None,
                max_num_of_candidates_returned=check_max_candidates(max_candidates),
                mode=mode.value,
                raw=True,
            )
        )
        return [
            SimilarFace(float(f["confidence"]), persisted_face_id=f.get("persistedFaceId"), face_id=f.get("faceId"))
            for f in found
        ]

    def group_faces(self, face_ids: list[str]) -> FaceGroups:
        ids = check_face_ids(face_ids, "faceIds", minimum=1)
        faces = self._client.face
        found = self._json(lambda: faces.group(ids, raw=True))
        return FaceGroups(tuple(tuple(g) for g in found["groups"]), tuple(found.get("messyGroup") or ()))

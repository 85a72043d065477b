"""Face lists and large face lists on this machine, kept beside the person groups in the gallery
container. Their prefixes start with a capital letter, which no group id can (check_group_id), so
they never meet a group's blobs:
    {Kind}/lists/{listId}.json                      the list's record (listing lists reads only these)
    {Kind}/data/{listId}/faces/{persistedFaceId}.json   the face's record with its embedding (gallery.py's)
    {Kind}/data/{listId}/faces/{persistedFaceId}.photo  the uploaded bytes
    {Kind}/data/{listId}/training/...               a large face list's trainings: training.py's Trainer,
                                                    as person groups' (LargeFaceListTrainee below)
Faces are enrolled as the gallery enrolls a person's (one usable face, or the one in targetFace), and
searched through the trained-index shape of training.py with one row group per face, so that
matching.py's distances and confidences apply unchanged.
"""

from __future__ import annotations

import json

import numpy as np

from ...clock import iso, utc_now
from ...errors import (
    FaceApiError,
    LargeFaceListNotTrained,
    LargeFaceListTrainingNotFound,
    NotFound,
    PersistedFaceNotFound,
)
from ...models import RECOGNITION_MODEL, FaceRectangle
from ...settings import Settings
from ...storage import BlobNotFound, PreconditionFailed, Storage
from ...storage.layout import GALLERY_CONTAINER as CONTAINER
from ..face_lists import FaceList, ListKind
from .gallery import EnrolledFace, Gallery
from .records import MAX_FACE_USER_DATA, MAX_NAME, MAX_USER_DATA, check_text, check_uuid, dump_json
from .training import Built, Paused, TrainedIndex, TrainingRows, TrainingRun, build_snapshot, load_snapshot

_PREFIX = {ListKind.FACE_LIST: "FaceLists", ListKind.LARGE_FACE_LIST: "LargeFaceLists"}


def face_index(face_ids: list[str], embeddings: list[np.ndarray], training_id: str = "") -> TrainedIndex:
    """An index whose 'persons' are single faces: matching.person_distances then answers per face."""
    return TrainedIndex(
        training_id=training_id,
        embeddings=np.stack(embeddings).astype(np.float32),
        person_ids=np.array(face_ids),
        person_names=np.array(face_ids),
        person_starts=np.arange(len(face_ids), dtype=np.int64),
    )


class FaceListStore:
    def __init__(self, storage: Storage, gallery: Gallery, settings: Settings):
        self.storage = storage
        self.gallery = gallery
        self.settings = settings

    # -- blob names ------------------------------------------------------------------------------
    @staticmethod
    def _record_blob(kind: ListKind, list_id: str) -> str:
        return f"{_PREFIX[kind]}/lists/{list_id}.json"

    @staticmethod
    def data_prefix(kind: ListKind, list_id: str) -> str:
        """The list's faces and trainings (deleted with it)."""
        return f"{_PREFIX[kind]}/data/{list_id}/"

    def _faces_prefix(self, kind: ListKind, list_id: str) -> str:
        return self.data_prefix(kind, list_id) + "faces/"

    # -- lists -----------------------------------------------------------------------------------
    def create(
        self, kind: ListKind, list_id: str, name: str, user_data: str | None, recognition_model: str | None
    ) -> FaceList:
        kind.check_id(list_id)
        check_text(name, "name", MAX_NAME, required=True)
        check_text(user_data, "userData", MAX_USER_DATA, required=False)
        face_list = FaceList(kind, list_id, name, user_data or None, recognition_model or RECOGNITION_MODEL)
        record = {**face_list.to_dict(with_recognition_model=True), "createdDateTime": iso(utc_now())}
        try:
            self.storage.put_blob(CONTAINER, self._record_blob(kind, list_id), dump_json(record), only_if_new=True)
        except PreconditionFailed:
            raise kind.exists(f"{kind.label} {list_id!r} already exists.") from None
        return face_list

    def _record(self, kind: ListKind, list_id: str) -> dict:
        kind.check_id(list_id)
        try:
            return json.loads(self.storage.get_blob(CONTAINER, self._record_blob(kind, list_id)).data)
        except BlobNotFound:
            raise kind.not_found(f"{kind.label} {list_id!r} is not found.") from None

    def get(self, kind: ListKind, list_id: str, *, with_faces: bool = False) -> FaceList:
        record = self._record(kind, list_id)
        faces = tuple(self.faces(kind, list_id)) if with_faces else None
        return FaceList(kind, list_id, record["name"], record.get("userData"), record["recognitionModel"], faces)

    def update(self, kind: ListKind, list_id: str, name: str | None, user_data: str | None) -> None:
        blob_name = self._record_blob(kind, list_id)
        self.gallery.update_record(CONTAINER, blob_name, name, user_data, lambda: self._record(kind, list_id))

    def delete(self, kind: ListKind, list_id: str) -> None:
        self._record(kind, list_id)
        # Contents first (records before photos), the list's record last: an interrupted delete can run again.
        names = [b.name for b in self.storage.list_blobs(CONTAINER, self.data_prefix(kind, list_id))]
        for name in sorted(names, key=lambda n: not n.endswith(".json")):
            self.storage.delete_blob(CONTAINER, name)
        self.storage.delete_blob(CONTAINER, self._record_blob(kind, list_id))

    def list_lists(self, kind: ListKind, start: str | None, top: int) -> list[FaceList]:
        prefix = f"{_PREFIX[kind]}/lists/"
        found = []
        for blob in self.storage.list_blobs(CONTAINER, prefix):
            list_id = blob.name[len(prefix) : -len(".json")]
            if start is not None and list_id <= start:
                continue
            try:
                found.append(self.get(kind, list_id))
            except NotFound:
                continue  # deleted meanwhile
            if len(found) >= top:
                break
        return found

    # -- faces -----------------------------------------------------------------------------------
    def add_face(
        self,
        kind: ListKind,
        list_id: str,
        image: bytes,
        target_face: FaceRectangle | None,
        user_data: str | None,
    ) -> EnrolledFace:
        self._record(kind, list_id)
        persisted = self.gallery.enroll(image, target_face, list_id, user_data)
        base = self._faces_prefix(kind, list_id) + persisted.persisted_face_id
        self.storage.put_blob(CONTAINER, f"{base}.photo", image)
        self.storage.put_blob(CONTAINER, f"{base}.json", dump_json(persisted.to_record()))
        try:
            self._record(kind, list_id)
        except NotFound:  # the list was deleted while the face was being added: leave nothing behind
            self._delete_face_blobs(base)
            raise
        return persisted

    def _face_blob(self, kind: ListKind, list_id: str, face_id: str) -> str:
        self._record(kind, list_id)
        face_id = check_uuid(face_id, PersistedFaceNotFound, "Persisted face")
        return f"{self._faces_prefix(kind, list_id)}{face_id}.json"

    def get_face(self, kind: ListKind, list_id: str, face_id: str) -> EnrolledFace:
        try:
            data = self.storage.get_blob(CONTAINER, self._face_blob(kind, list_id, face_id)).data
        except BlobNotFound:
            raise PersistedFaceNotFound(f"Persisted face {face_id} is not found in {list_id!r}.") from None
        return EnrolledFace.from_record(json.loads(data))

    def update_face(self, kind: ListKind, list_id: str, face_id: str, user_data: str | None) -> None:
        check_text(user_data, "userData", MAX_FACE_USER_DATA, required=False)
        face = self.get_face(kind, list_id, face_id)
        record = {**face.to_record(), "userData": user_data or None}
        self.storage.put_blob(CONTAINER, self._face_blob(kind, list_id, face_id), dump_json(record))

    def delete_face(self, kind: ListKind, list_id: str, face_id: str) -> None:
        face = self.get_face(kind, list_id, face_id)
        self._delete_face_blobs(self._faces_prefix(kind, list_id) + face.persisted_face_id)

    def _delete_face_blobs(self, base: str) -> None:
        self.storage.delete_blob(CONTAINER, f"{base}.json")  # the record first: never a record without its photo
        self.storage.delete_blob(CONTAINER, f"{base}.photo")

    def faces(
        self, kind: ListKind, list_id: str, start: str | None = None, top: int | None = None
    ) -> list[EnrolledFace]:
        """The list's faces in persistedFaceId order, after `start`, at most `top`."""
        prefix = self._faces_prefix(kind, list_id)
        found: list[EnrolledFace] = []
        for blob in self.storage.list_blobs(CONTAINER, prefix):
            face_id = blob.name[len(prefix) :].removesuffix(".json")
            if not blob.name.endswith(".json") or (start is not None and face_id <= start):
                continue
            try:
                found.append(EnrolledFace.from_record(json.loads(self.storage.get_blob(CONTAINER, blob.name).data)))
            except BlobNotFound:
                continue  # deleted meanwhile
            if top is not None and len(found) >= top:
                break
        return found

    def face_list_index(self, list_id: str) -> TrainedIndex | None:
        """What find-similar searches in a face list: its faces as they are; None if it has none."""
        self._record(ListKind.FACE_LIST, list_id)
        faces = self.faces(ListKind.FACE_LIST, list_id)
        return face_index([f.persisted_face_id for f in faces], [f.embedding for f in faces]) if faces else None


class LargeFaceListTrainee:
    """Large face lists as training.py's Trainer trains them: one row per face, its 'person' the face itself."""

    label = ListKind.LARGE_FACE_LIST.label
    retrain = "Train the large face list again to replace it."

    def __init__(self, store: FaceListStore):
        self.store = store
        self.storage = store.storage

    def check_id(self, owner_id: str) -> None:
        ListKind.LARGE_FACE_LIST.check_id(owner_id)

    def check_exists(self, owner_id: str) -> None:
        self.store.get(ListKind.LARGE_FACE_LIST, owner_id)

    def root(self, owner_id: str) -> str:
        return self.store.data_prefix(ListKind.LARGE_FACE_LIST, owner_id)

    def snapshot(self, owner_id: str) -> TrainingRows:
        faces = self.store.faces(ListKind.LARGE_FACE_LIST, owner_id)
        ids = [f.persisted_face_id for f in faces]
        return TrainingRows(ids, [f.embedding for f in faces], {face_id: face_id for face_id in ids})

    def describe(self, owner_id: str, rows: TrainingRows) -> str:
        if not rows.ids:
            return f"{self.label} {owner_id!r} has no faces to train on: add faces first."
        return f"Trained on {len(rows.ids)} faces."

    def build(self, owner_id: str, run: TrainingRun) -> Built | Paused:
        return build_snapshot(self, owner_id)  # whole each time, one blob a face: lists have no journal yet

    def resumable(self, owner_id: str, generation: int, requested: str | None) -> bool:
        return False

    def load(self, index_blob: str) -> TrainedIndex:
        return load_snapshot(self.storage, index_blob, self.retrain)

    def obsolete(self, replaced: str, kept: str) -> list[str]:
        return [replaced]

    def queue_message(self, owner_id: str) -> dict[str, str]:
        return {"largeFaceListId": owner_id}

    def never_trained(self, owner_id: str) -> FaceApiError:
        return LargeFaceListTrainingNotFound(f"{self.label} {owner_id!r} is not trained: train it first.")

    def not_trained(self, message: str) -> FaceApiError:
        return LargeFaceListNotTrained(message)

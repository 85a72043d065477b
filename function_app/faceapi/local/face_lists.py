"""Face lists and large face lists on this machine, kept beside the person groups in the gallery
container. Their prefixes start with a capital letter, which no group id can (check_group_id), so
they never meet a group's blobs:
    {Kind}/lists/{listId}.json                      the list's record (listing lists reads only these)
    {Kind}/data/{listId}/faces/{persistedFaceId}.json   the face's record with its embedding (gallery.py's)
    {Kind}/data/{listId}/faces/{persistedFaceId}.photo  the uploaded bytes
    {Kind}/data/{listId}/journal/{bucket}.log       a large face list's adds and deletes (embedding_journal.py)
    {Kind}/data/{listId}/training/...               a large face list's trainings: from its journal, as person
                                                    groups' (LargeFaceListTrainee below, journal_training.py)
Faces are enrolled as the gallery enrolls a person's (one usable face, or the one in targetFace), and
searched through the trained-index shape of training.py with one row group per face, so that
matching.py's distances and confidences apply unchanged. In a large face list's journal each face is its own
"person" (both ids of its entries are the face's). A face list (not large) is searched from its records as they
are, untrained. A large face list made before the journal (its record has no "embeddingLayout") is moved to it
by its first training, as a group is.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from ...clock import iso, utc_now
from ...errors import (
    DamagedRecord,
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
from ...storage.records import parse_record
from ..face_lists import FaceList, ListKind
from .embedding_journal import EmbeddingJournal, Entry, EntryKind, add_entry
from .gallery import JOURNAL_LAYOUT, LAYOUT_FIELD, EnrolledFace, Gallery
from .index_chunks import IndexManifest
from .journal_training import JournalTrainee
from .records import MAX_FACE_USER_DATA, MAX_NAME, MAX_USER_DATA, check_text, check_uuid, dump_json
from .training import TrainedIndex

log = logging.getLogger(__name__)
_PREFIX = {ListKind.FACE_LIST: "FaceLists", ListKind.LARGE_FACE_LIST: "LargeFaceLists"}
LARGE = ListKind.LARGE_FACE_LIST


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
        self.journal = EmbeddingJournal(storage)  # large face lists'

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
        if kind is LARGE:
            record[LAYOUT_FIELD] = JOURNAL_LAYOUT
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
        return self.store_face(kind, list_id, self.gallery.enroll(image, target_face, list_id, user_data), image)

    def store_face(self, kind: ListKind, list_id: str, face: EnrolledFace, image: bytes) -> EnrolledFace:
        """Keep an enrolled face of the list: its photo, its record, and in a large face list its journal entry."""
        face_id = face.persisted_face_id
        base = self._faces_prefix(kind, list_id) + face_id
        self.storage.put_blob(CONTAINER, f"{base}.photo", image)
        self.storage.put_blob(CONTAINER, f"{base}.json", dump_json(face.to_record()))
        if kind is LARGE:
            self.journal.append(self.data_prefix(kind, list_id), add_entry(face_id, face_id, face.embedding))
        try:
            self._record(kind, list_id)
        except NotFound:  # the list was deleted while the face was being added: leave nothing behind
            self._delete_face(kind, list_id, face_id)  # nor an add in a journal its deletion missed
            raise
        return face

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
        self._delete_face(kind, list_id, self.get_face(kind, list_id, face_id).persisted_face_id)

    def _delete_face(self, kind: ListKind, list_id: str, face_id: str) -> None:
        if kind is LARGE:  # the journal first, as a group's deletes: training leaves it out even if cut short here
            self.journal.append(self.data_prefix(kind, list_id), Entry(EntryKind.DELETE_FACE, face_id, face_id))
        base = self._faces_prefix(kind, list_id) + face_id
        self.storage.delete_blob(CONTAINER, f"{base}.json")  # the record first: never a record without its photo
        self.storage.delete_blob(CONTAINER, f"{base}.photo")

    def faces(
        self, kind: ListKind, list_id: str, start: str | None = None, top: int | None = None
    ) -> list[EnrolledFace]:
        """The list's faces in persistedFaceId order, after `start`, at most `top`."""
        found: list[EnrolledFace] = []
        for face_id, blob_name in self._face_records(kind, list_id):
            if start is not None and face_id <= start:
                continue
            try:
                found.append(EnrolledFace.from_record(json.loads(self.storage.get_blob(CONTAINER, blob_name).data)))
            except BlobNotFound:
                continue  # deleted meanwhile
            if top is not None and len(found) >= top:
                break
        return found

    def _face_records(self, kind: ListKind, list_id: str) -> Iterator[tuple[str, str]]:
        """Each face's id and record blob, in persistedFaceId order (one listing)."""
        prefix = self._faces_prefix(kind, list_id)
        for blob in self.storage.list_blobs(CONTAINER, prefix):
            if blob.name.endswith(".json"):
                yield blob.name[len(prefix) : -len(".json")], blob.name

    # -- the journal of large face lists made before it ------------------------------------------
    def uses_journal(self, list_id: str) -> bool:
        return self._record(LARGE, list_id).get(LAYOUT_FIELD) == JOURNAL_LAYOUT

    def migrate_to_journal(self, list_id: str, known: set[str], deadline: float) -> bool:
        """Append to the journal the faces of a large face list made before it, one face record read each (but
        the `known` ones, already there), and mark the list's record once done; False if `deadline` passed."""
        if not self.journal.append_until(self.data_prefix(LARGE, list_id), self._unjournaled(list_id, known), deadline):
            return False
        layout = {LAYOUT_FIELD: JOURNAL_LAYOUT}
        self.gallery.change_record(
            CONTAINER, self._record_blob(LARGE, list_id), layout, lambda: self._record(LARGE, list_id)
        )
        return True

    def _unjournaled(self, list_id: str, known: set[str]) -> Iterator[Entry]:
        for face_id, blob_name in self._face_records(LARGE, list_id):
            if face_id in known:
                continue
            try:
                data = self.storage.get_blob(CONTAINER, blob_name).data
                face = parse_record(data, f"{CONTAINER}/{blob_name}", EnrolledFace.from_record)
            except BlobNotFound:
                continue  # deleted meanwhile
            except DamagedRecord as damaged:  # one bad face never stops a training
                log.warning("%s Left out.", damaged.message)
                continue
            yield add_entry(face_id, face_id, face.embedding)

    def face_list_index(self, list_id: str) -> TrainedIndex | None:
        """What find-similar searches in a face list: its faces as they are; None if it has none."""
        self._record(ListKind.FACE_LIST, list_id)
        faces = self.faces(ListKind.FACE_LIST, list_id)
        return face_index([f.persisted_face_id for f in faces], [f.embedding for f in faces]) if faces else None


class LargeFaceListTrainee(JournalTrainee):
    """Large face lists as training.py's Trainer trains them: from the list's journal, one row per face, its
    'person' the face itself (named by its id, as find-similar answers persisted face ids)."""

    label = LARGE.label
    retrain = "Train the large face list again to replace it."
    migrating = "Moving the large face list's faces to its journal; the training goes on in its next part."

    def __init__(self, store: FaceListStore):
        super().__init__(store.storage, store.journal, store.settings.approximate_search_from)
        self.store = store

    def check_id(self, owner_id: str) -> None:
        LARGE.check_id(owner_id)

    def check_exists(self, owner_id: str) -> None:
        self.store.get(LARGE, owner_id)

    def root(self, owner_id: str) -> str:
        return self.store.data_prefix(LARGE, owner_id)

    def queue_message(self, owner_id: str) -> dict[str, str]:
        return {"largeFaceListId": owner_id}

    def never_trained(self, owner_id: str) -> FaceApiError:
        return LargeFaceListTrainingNotFound(f"{self.label} {owner_id!r} is not trained: train it first.")

    def not_trained(self, message: str) -> FaceApiError:
        return LargeFaceListNotTrained(message)

    def uses_journal(self, owner_id: str) -> bool:
        return self.store.uses_journal(owner_id)

    def migrate_to_journal(self, owner_id: str, known: set[str], deadline: float) -> bool:
        return self.store.migrate_to_journal(owner_id, known, deadline)

    def name_unnamed(self, owner_id: str, manifest: IndexManifest) -> None:
        """A face's name is its id, given when the index is read (load): the manifest keeps none."""

    def describe(self, owner_id: str, manifest: IndexManifest) -> str:
        if manifest.faces == 0:
            return f"{self.label} {owner_id!r} has no faces to train on: add faces first."
        return f"Trained on {manifest.faces} faces."

    def load(self, index_blob: str) -> TrainedIndex:
        index = super().load(index_blob)
        return replace(index, person_names=index.person_ids)
